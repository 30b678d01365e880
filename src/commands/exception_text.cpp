#include "commands/exception_text.h"

namespace nt {

std::string exceptionName(uint32_t code) {
    switch (code) {
        case 0xC0000005: return "Access violation";
        case 0x80000003: return "Break instruction exception";
        case 0x80000004: return "Single step exception";
        case 0x4000001F: return "WOW64 breakpoint";  // STATUS_WX86_BREAKPOINT
        case 0x4000001E: return "WOW64 single step";  // STATUS_WX86_SINGLE_STEP
        case 0xC00000FD: return "Stack overflow";
        case 0xC0000409: return "Security check failure or stack buffer overrun";
        case 0xC000001D: return "Illegal instruction";
        case 0xC0000094: return "Integer divide-by-zero";
        case 0xC0000095: return "Integer overflow";
        case 0xC000008C: return "Array bounds exceeded";
        case 0xC000008E: return "Floating-point division-by-zero";
        case 0xC0000096: return "Privileged instruction";
        case 0xC0000006: return "In-page I/O error";
        case 0xC0000374: return "Unknown exception";
        case 0xC000000D: return "Unknown exception";
        case 0xE06D7363: return "C++ EH exception";
        case 0x40010006: return "Control-C exception";
        case 0xC0000025: return "Non-continuable exception";
        case 0xC0000026: return "Invalid disposition";
        case 0x80000002: return "Data misaligned";
        case 0xC0000008: return "Invalid handle";
        default: return "Unknown exception";
    }
}

}  // namespace nt
