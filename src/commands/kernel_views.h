// Shared text of kernel-dump commands (banner, vertarget, .bugcheck) and the
// control registers `r cr3` reads from the PRCB.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "target/model.h"
#include "unwind/stack_walk.h"

namespace nt {

class Engine;
struct Output;

// "Windows 10 Kernel Version 19041 MP (16 procs) Free x64"
std::string kernelVersionLine(const Target& t);
// "BugCheck 1000007E, {ffffffffc0000005, fffff8048b58334c, ...}"
std::string bugcheckLine(const Target& t);
// vertarget for kernel dumps.
void kernelVertarget(Engine& e, Output& out);
// cr0/cr2/cr3/cr4 of the current processor (KPRCB special registers; CR3 of
// the bugcheck processor also from the dump header); nullopt otherwise.
std::optional<uint64_t> kernelControlRegister(Engine& e, std::string_view name);
// x86 kernel dumps (kernel_tss_commands.cpp): "WARNING: Process directory table base 0FF2F000 doesn't
// match CR3 00030000" when the current process's DirBase is not the bugcheck processor's CR3; and the
// previous-task lookup (KPCR.TSS -> Backlink -> GDT -> KTSS) the x86 walker uses for task-gate frames.
std::optional<std::string> kernelDirBaseWarning(Engine& e);
std::function<std::optional<X86TaskLink>()> x86PreviousTaskResolver(Engine& e, size_t processor);

}  // namespace nt
