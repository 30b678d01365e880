#include "arch/machine.h"

#include <algorithm>
#include <string>

namespace nt {

Machine machineFromImageType(uint32_t m) {
    switch (m) {
        case 0x014c: return Machine::X86;
        case 0x8664: return Machine::Amd64;
        case 0xAA64: return Machine::Arm64;
        case 0x01c0: case 0x01c2: case 0x01c4: return Machine::Arm;
        default: return Machine::Unknown;
    }
}

Machine machineFromProcessorArchitecture(uint16_t a) {
    switch (a) {
        case 0: return Machine::X86;     // PROCESSOR_ARCHITECTURE_INTEL
        case 5: return Machine::Arm;     // PROCESSOR_ARCHITECTURE_ARM
        case 9: return Machine::Amd64;   // PROCESSOR_ARCHITECTURE_AMD64
        case 12: return Machine::Arm64;  // PROCESSOR_ARCHITECTURE_ARM64
        case 10: return Machine::X86;    // PROCESSOR_ARCHITECTURE_IA32_ON_WIN64
        default: return Machine::Unknown;
    }
}

std::string_view machineName(Machine m) {
    switch (m) {
        case Machine::X86: return "x86";
        case Machine::Amd64: return "x64";
        case Machine::Arm64: return "ARM64";
        case Machine::Arm: return "ARM";
        default: return "unknown";
    }
}

Machine machineFromName(std::string_view name) {
    std::string n(name);
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    if (n == "x86" || n == "i386") return Machine::X86;
    if (n == "amd64" || n == "x64") return Machine::Amd64;
    if (n == "arm64") return Machine::Arm64;
    if (n == "arm") return Machine::Arm;
    return Machine::Unknown;
}

}  // namespace nt
