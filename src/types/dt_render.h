// WinDbg's `dt` rendering over any TypeProvider (FACTS.md §2.7, MSDOCS
// "dt (Display Type)"). The layout is computed as a tree of DtNode (which the
// command turns into JSON) and printed by dtText:
//
//      +0x000 Pcb              : _KPROCESS
//      +0x440 UniqueProcessId  : Ptr64 Void          (type only)
//      +0x440 UniqueProcessId  : 0x00000000`00000004 Void   (at an address)
//
// Three spaces per nesting level, "+0x%03x", the name padded to 16 columns,
// " : ", then the type text or the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "memory/memory.h"
#include "types/type_model.h"

namespace nt::types {

struct DtNode {
    uint64_t offset = 0;       // from the enclosing object
    std::string name;
    TypeId type = kNoType;
    std::string typeText;      // "Ptr64 _LIST_ENTRY", "Pos 0, 1 Bit"
    uint8_t bitPosition = 0;
    uint8_t bitLength = 0;
    std::optional<uint64_t> address;  // where the field lives (value mode)
    std::optional<std::string> value; // value mode: "0x1f", "(null) ", "??"
    std::optional<uint64_t> raw;      // value mode, scalars: the integer read
    std::vector<DtNode> children;
};

struct DtRequest {
    const TypeProvider* types = nullptr;
    TypeId type = kNoType;
    const Memory* memory = nullptr;        // value mode when address is set
    std::optional<uint64_t> address;
    // Field selection: "Pcb", "Ldr." (the field and its subfields),
    // "Ldr.Length" (a path), "Image*" (prefix). Empty: every field.
    std::vector<std::string> fields;
    unsigned recurse = 0;                  // -r[N]: levels of sub-structures to expand
    size_t maxNodes = 20000;               // bound on output size (hostile types)
};

// Type text as dt prints it in type-only mode.
std::string dtTypeText(const TypeProvider& types, TypeId id);
// Base-type names: Int4B, Uint2B, UChar, Wchar...
std::string dtBaseName(const Type& t);

// The fields of req.type (a struct or union), selected and expanded.
// nullopt when a selection matched no field ("Cannot find specified field members.").
std::optional<std::vector<DtNode>> dtLayout(const DtRequest& req);

// Lines as WinDbg prints them (each without the trailing newline).
std::vector<std::string> dtText(const std::vector<DtNode>& nodes);

// `dt nt!_POOL_TYPE`: "   NonPagedPool = 0n0" per enumerator.
std::vector<std::string> dtEnumText(const Type& enumType);

// A pointer value as dt prints it: 0x00000000`00000004 (64-bit) or 0x1000 (32-bit).
std::string dtPointer(uint64_t v, unsigned ptrSize);

// `*` and `?` wildcards, case-sensitive (type names).
bool dtWildcardMatch(std::string_view pattern, std::string_view text);

}  // namespace nt::types
