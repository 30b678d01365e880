// Where the NT kernel's structure fields are: offsets, sizes and bitfields of
// "_EPROCESS" / "Pcb.DirectoryTableBase" style paths, resolved through a
// type source (PDB TPI or ISF, the same TypeProvider) and cached.
//
// Without a type source the layout falls back to the Offset*/Size* fields of
// the dump's KDDEBUGGER_DATA64: those few fields the dump itself vouches for.
// Any other field is missing, recorded as such (missing()), never guessed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "target/kernel_info.h"
#include "types/type_model.h"

namespace nt {

struct FieldLayout {
    uint64_t offset = 0;      // bytes from the start of the outer type
    uint64_t size = 0;        // bytes (a bitfield: its storage unit); 0 = unknown
    types::TypeId type = types::kNoType;  // kNoType for KDBG-derived fields
    uint8_t bitPosition = 0;
    uint8_t bitLength = 0;    // 0: not a bitfield
    bool isSigned = false;    // a signed integer (char Priority, long SignalState)
    bool fromDebuggerData = false;

    bool isBitfield() const { return bitLength != 0; }
};

class NtLayout {
public:
    // types may be null (KDBG fallback only); kdbg may be null or not present.
    // pointerSize 0 means: the type source's, else 8.
    NtLayout(const types::TypeProvider* types, const KdDebuggerData* kdbg, unsigned pointerSize = 0);

    const types::TypeProvider* types() const { return types_; }
    bool hasTypes() const { return types_ != nullptr; }
    unsigned pointerSize() const { return ptrSize_; }

    // A dotted path inside a named struct: "Pcb.DirectoryTableBase",
    // "Tcb.ApcState.Process", "Cid.UniqueThread", "WaitBlock[1]" (arrays by
    // index). nullopt (and recorded in missing()) when the source lacks it.
    std::optional<FieldLayout> field(std::string_view type, std::string_view path) const;
    std::optional<uint64_t> offset(std::string_view type, std::string_view path) const;
    // Whether the field exists, without recording it as missing (optional fields).
    bool has(std::string_view type, std::string_view path) const;
    // sizeof(type); nullopt when unknown.
    std::optional<uint64_t> size(std::string_view type) const;

    // Enumerator names: from the type source's enum when it has one, else
    // the built-in names of _KWAIT_REASON / _KTHREAD_STATE (Windows 10).
    // Empty when the value has no name.
    std::string enumName(std::string_view enumType, int64_t value) const;
    std::optional<int64_t> enumValue(std::string_view enumType, std::string_view name) const;

    // "_EPROCESS.Session" for every field asked for and not found.
    std::vector<std::string> missing() const { return {missing_.begin(), missing_.end()}; }

private:
    std::optional<FieldLayout> resolve(std::string_view type, std::string_view path) const;
    std::optional<FieldLayout> resolveTypes(std::string_view type, std::string_view path) const;
    std::optional<FieldLayout> resolveDebuggerData(std::string_view type, std::string_view path) const;
    const types::Field* findMember(const types::Type& t, std::string_view name, uint64_t& extraOffset,
                                   unsigned depth) const;
    std::optional<FieldLayout> lookup(std::string_view type, std::string_view path, bool recordMissing) const;

    const types::TypeProvider* types_;
    KdDebuggerData kdbg_;
    unsigned ptrSize_;
    mutable std::map<std::string, std::optional<FieldLayout>, std::less<>> cache_;
    mutable std::map<std::string, std::optional<uint64_t>, std::less<>> sizeCache_;
    mutable std::set<std::string> missing_;
};

// Built-in enumerator names (Windows 10 19041 values), used when the type
// source has no such enum.
std::string_view builtinWaitReasonName(int64_t value);
std::string_view builtinThreadStateName(int64_t value);

}  // namespace nt
