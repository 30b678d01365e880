// Synthetic Windows kernel dumps for tests (in the spirit of rust-minidump's
// minidump-synth): real page tables and real NT structures in a made-up
// machine, written as PAGEDU64/PAGEDUMP files of every dump type.
//
// Layer 1 — the machine and the file (any architecture we read):
//   PhysicalImage   4 KiB pages by pfn, sparse; allocation with holes.
//   AddressSpace    page tables under a DTB for x86, x86 PAE and x64 (large
//                   pages, software PTEs, processes sharing the kernel half).
//   DumpWriter      the header (+ "PAGE" fill), then the physical memory as a
//                   full (1), summary (2), bitmap (5/6) or RDMP (8/9/10)
//                   dump, or a triage/small dump (4); corrupt variants;
//                   sparse files for multi-GiB benchmarks.
//   makeKdbgBlock   a clear-text KDBG block for any width.
// Layer 2 — the NT world (x64, layouts from an ISF, contract in
//   /tmp/nt-world.md): NtWorldBuilder adds processes, threads, waits,
//   dispatcher objects, resources, drivers, processors, the KDBG block and
//   the kernel's PE header, then build(dumpType).
//
// Example (layer 1):
//   PhysicalImage phys;
//   AddressSpace as(phys, PagingMode::X86Pae);
//   as.mapNew(0x80001000, 0x2000);
//   as.writeU32(0x80001000, 0xfeedf00d);
//   HeaderInfo h; h.is64 = false; h.paeEnabled = true; h.directoryTableBase = as.dtb();
//   std::vector<uint8_t> file = DumpWriter(phys, h).write(kdump::kBitmapFull);
// Example (layer 2):
//   NtWorldBuilder w(corpusFile("jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz"));
//   uint64_t p = w.addProcess("notepad.exe", 0x1234, 0x4);
//   uint64_t t = w.addThread(p, 0x1238, Waiting, 6 /*UserRequest*/, UserMode);
//   w.waitOn(t, {w.addEvent(false, false)});
//   w.setBugcheck(0x7e, {0xc0000005, 0, 0, 0});
//   w.buildFile(path, 5);
#pragma once

#include "support/kdump_builder/address_space.h"
#include "support/kdump_builder/dump_writer.h"
#include "support/kdump_builder/kdbg_block.h"
#include "support/kdump_builder/nt_world_builder.h"
#include "support/kdump_builder/physical_image.h"
#include "support/kdump_builder/type_layout.h"

namespace nt::test::kdump {

// DumpType values (FACTS.md §1.1), for readability at call sites.
inline constexpr uint32_t kFull = 1, kSummary = 2, kTriage = 4, kBitmapFull = 5, kBitmapKernel = 6,
                          kKernelMemory = 8, kKernelAndUserMemory = 9, kCompleteMemory = 10;

}  // namespace nt::test::kdump
