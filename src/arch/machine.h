#pragma once

#include <cstdint>
#include <string_view>

namespace nt {

// Processor architectures ntriage knows. Values are not file values; use
// machineFromImageType / machineFromMinidumpArch to convert.
enum class Machine { Unknown, X86, Amd64, Arm64, Arm };

inline unsigned pointerSize(Machine m) { return (m == Machine::Amd64 || m == Machine::Arm64) ? 8 : 4; }
inline bool is64(Machine m) { return pointerSize(m) == 8; }

// IMAGE_FILE_MACHINE_* (PE headers, kernel dump MachineImageType).
Machine machineFromImageType(uint32_t imageFileMachine);
// MINIDUMP_SYSTEM_INFO.ProcessorArchitecture (PROCESSOR_ARCHITECTURE_*).
Machine machineFromProcessorArchitecture(uint16_t arch);

// WinDbg's names: "x86", "x64" (WinDbg prints AMD64 as x64 in .effmach), "ARM64", "ARM".
std::string_view machineName(Machine m);
// Names accepted by .effmach: x86, amd64, x64, arm64, arm.
Machine machineFromName(std::string_view name);

}  // namespace nt
