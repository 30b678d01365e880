// Hand-built TPI streams: the decoding of each leaf, the hash, and damaged
// inputs (records past the end, LF_INDEX cycles, self-referencing types,
// huge arrays, unknown members) that must give incomplete types, not throws.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "pdb/gsi.h"
#include "pdb/pdb_types.h"
#include "pdb/tpi.h"
#include "pdb/type_records.h"
#include "msf_builder.h"

using namespace nt::pdb;
using nt::types::BaseKind;
using nt::types::TypeKind;

namespace {

// Little-endian payload writer.
struct Payload {
    std::vector<uint8_t> b;
    Payload& u8(uint8_t v) { b.push_back(v); return *this; }
    Payload& u16(uint16_t v) { return u8(v & 0xFF).u8(v >> 8); }
    Payload& u32(uint32_t v) { return u16(v & 0xFFFF).u16(v >> 16); }
    Payload& u64(uint64_t v) { return u32(uint32_t(v)).u32(uint32_t(v >> 32)); }
    Payload& str(const std::string& s) { b.insert(b.end(), s.begin(), s.end()); return u8(0); }
    Payload& pad4() {  // LF_PADn bytes up to a 4-byte boundary, as MSVC writes them
        while (b.size() % 4) u8(static_cast<uint8_t>(0xF0 + (4 - b.size() % 4)));
        return *this;
    }
    Payload& raw(const Payload& p) { b.insert(b.end(), p.b.begin(), p.b.end()); return *this; }
};

// Records numbered from 0x1000 in the order added.
struct TpiBuilder {
    std::vector<std::vector<uint8_t>> records;  // length-prefixed
    std::vector<std::string> hashNames;         // "" : hash value 0

    uint32_t add(uint16_t kind, const Payload& p, const std::string& hashName = "") {
        Payload r;
        r.u16(static_cast<uint16_t>(p.b.size() + 2)).u16(kind).raw(p);
        records.push_back(r.b);
        hashNames.push_back(hashName);
        return 0x1000 + static_cast<uint32_t>(records.size() - 1);
    }
    std::vector<uint8_t> recordBytes() const {
        std::vector<uint8_t> v;
        for (const auto& r : records) v.insert(v.end(), r.begin(), r.end());
        return v;
    }
    // The TPI stream; claimedEnd overrides the header's end index.
    std::vector<uint8_t> stream(uint16_t hashStream = 0xFFFF, uint32_t claimedEnd = 0) const {
        auto recs = recordBytes();
        Payload h;
        h.u32(20040203).u32(56).u32(0x1000).u32(claimedEnd ? claimedEnd : 0x1000 + uint32_t(records.size()));
        h.u32(static_cast<uint32_t>(recs.size())).u16(hashStream).u16(0xFFFF).u32(4).u32(kBuckets);
        h.u32(0).u32(static_cast<uint32_t>(records.size() * 4)).u32(0).u32(0).u32(0).u32(0);
        h.b.insert(h.b.end(), recs.begin(), recs.end());
        return h.b;
    }
    // The hash stream: one bucket per record.
    std::vector<uint8_t> hashStream() const {
        Payload p;
        for (const auto& n : hashNames) p.u32(n.empty() ? 0 : hashStringV1(n) % kBuckets);
        return p.b;
    }
    static constexpr uint32_t kBuckets = 0x3FFFF;
};

// An MSF whose stream i holds streams[i].
std::vector<uint8_t> msfOf(const std::vector<std::vector<uint8_t>>& streams) {
    constexpr uint32_t bs = 512;
    std::vector<nt::pdbtest::StreamSpec> specs;
    uint32_t next = 3;
    for (const auto& s : streams) {
        nt::pdbtest::StreamSpec spec;
        spec.size = static_cast<uint32_t>(s.size());
        spec.data = s;
        for (uint64_t i = 0; i < nt::pdb::blocksFor(s.size(), bs); ++i) spec.blocks.push_back(next++);
        specs.push_back(spec);
    }
    return nt::pdbtest::writeMsf(bs, specs, next);
}

struct Fixture {
    std::vector<uint8_t> file;
    Msf msf;
    std::unique_ptr<PdbTypes> types;
    explicit Fixture(const TpiBuilder& b, bool withHash = true, uint32_t claimedEnd = 0) {
        file = msfOf({{}, {}, b.stream(withHash ? 3 : 0xFFFF, claimedEnd), b.hashStream()});
        msf = Msf::open(nt::Bytes(file.data(), file.size()));
        types = std::make_unique<PdbTypes>(msf, 0x8664);
    }
};

Payload member(uint32_t type, uint16_t offset, const std::string& name) {
    Payload p;
    p.u16(cv::LF_MEMBER).u16(3).u32(type).u16(offset).str(name).pad4();
    return p;
}

Payload structure(uint16_t kind, uint16_t count, uint16_t props, uint32_t fieldList, uint16_t size,
                  const std::string& name, const std::string& unique = "") {
    Payload p;
    p.u16(count).u16(props).u32(fieldList);
    if (kind != cv::LF_UNION) p.u32(0).u32(0);
    p.u16(size).str(name);
    if (!unique.empty()) p.str(unique);
    return p;
}

}  // namespace

// A small program's types, decoded leaf by leaf: what dt needs.
TEST(Tpi, DecodesStructUnionEnumPointerArrayBitfieldModifier) {
    TpiBuilder b;
    uint32_t fwd = b.add(cv::LF_STRUCTURE, structure(cv::LF_STRUCTURE, 0, 0x280, 0, 0, "_NODE", ".?AU_NODE@@"));
    Payload ptr;
    ptr.u32(fwd).u32(0x0000000c | (8u << 13));  // CV_PTR_64, size 8
    uint32_t pNode = b.add(cv::LF_POINTER, ptr);
    Payload mod;
    mod.u32(0x0075).u16(1);  // const unsigned int
    uint32_t cuint = b.add(cv::LF_MODIFIER, mod);
    Payload arr;
    arr.u32(0x0021).u32(0x0023).u16(0x8002).u16(12).str("");  // LF_USHORT 12 bytes of unsigned short
    uint32_t a6 = b.add(cv::LF_ARRAY, arr);
    Payload bf;
    bf.u32(0x0022).u8(3).u8(5);  // 3 bits at bit 5 of an unsigned long
    uint32_t bits = b.add(cv::LF_BITFIELD, bf);
    Payload fl;
    fl.raw(member(pNode, 0, "Next")).raw(member(cuint, 8, "Count")).raw(member(a6, 12, "Words"));
    fl.raw(member(bits, 24, "Flags"));
    Payload big;  // an offset as LF_ULONG
    big.u16(cv::LF_MEMBER).u16(3).u32(0x0074).u16(0x8004).u32(28).str("Last").pad4();
    fl.raw(big);
    uint32_t flIdx = b.add(cv::LF_FIELDLIST, fl);
    uint32_t def = b.add(cv::LF_STRUCTURE, structure(cv::LF_STRUCTURE, 5, 0x200, flIdx, 32, "_NODE", ".?AU_NODE@@"), "_NODE");
    Payload efl;
    efl.u16(cv::LF_ENUMERATE).u16(3).u16(7).str("Seven").pad4();
    efl.u16(cv::LF_ENUMERATE).u16(3).u16(0x8000).u8(0xFF).str("MinusOne").pad4();      // LF_CHAR -1
    efl.u16(cv::LF_ENUMERATE).u16(3).u16(0x8001).u16(0x8000).str("Short").pad4();      // LF_SHORT -32768
    efl.u16(cv::LF_ENUMERATE).u16(3).u16(0x8003).u32(0x80000000u).str("Long").pad4();  // LF_LONG
    efl.u16(cv::LF_ENUMERATE).u16(3).u16(0x8009).u64(uint64_t(-5)).str("Quad").pad4(); // LF_QUADWORD
    uint32_t eflIdx = b.add(cv::LF_FIELDLIST, efl);
    Payload en;
    en.u16(5).u16(0).u32(0x0074).u32(eflIdx).str("COLOR");
    uint32_t enumIdx = b.add(cv::LF_ENUM, en, "COLOR");
    Payload ufl;
    ufl.raw(member(0x0077, 0, "QuadPart")).raw(member(0x0075, 0, "LowPart"));
    uint32_t uflIdx = b.add(cv::LF_FIELDLIST, ufl);
    uint32_t uni = b.add(cv::LF_UNION, structure(cv::LF_UNION, 2, 0, uflIdx, 8, "_LARGE"), "_LARGE");

    Fixture f(b);
    const TypeStream& tpi = f.types->tpi();
    EXPECT_EQ(tpi.begin(), 0x1000u);
    EXPECT_EQ(tpi.end(), uni + 1);
    EXPECT_EQ(f.types->pointerSize(), 8u);

    // The forward reference and the definition give the same Type.
    const auto* node = f.types->type(fwd);
    ASSERT_NE(node, nullptr);
    EXPECT_EQ(node, f.types->type(def));
    EXPECT_EQ(f.types->definitionOf(fwd), def);
    EXPECT_EQ(node->kind, TypeKind::Struct);
    EXPECT_EQ(node->name, "_NODE");
    EXPECT_EQ(node->size, 32u);
    EXPECT_FALSE(node->incomplete);
    ASSERT_EQ(node->fields.size(), 5u);
    EXPECT_EQ(node->fields[0].name, "Next");
    const auto* p = f.types->type(node->fields[0].type);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->kind, TypeKind::Pointer);
    EXPECT_EQ(p->size, 8u);
    EXPECT_EQ(f.types->type(p->target), node);  // recursion through a pointer ends
    // const is transparent.
    EXPECT_EQ(node->fields[1].offset, 8u);
    const auto* u4 = f.types->type(node->fields[1].type);
    ASSERT_NE(u4, nullptr);
    EXPECT_EQ(u4->kind, TypeKind::Base);
    EXPECT_EQ(u4->base, BaseKind::UInt);
    EXPECT_EQ(u4->size, 4u);
    const auto* words = f.types->type(node->fields[2].type);
    ASSERT_NE(words, nullptr);
    EXPECT_EQ(words->kind, TypeKind::Array);
    EXPECT_EQ(words->count, 6u);
    EXPECT_EQ(words->size, 12u);
    EXPECT_EQ(words->target, 0x0021u);
    EXPECT_EQ(node->fields[3].name, "Flags");
    EXPECT_EQ(node->fields[3].type, 0x0022u);
    EXPECT_EQ(node->fields[3].bitPosition, 5);
    EXPECT_EQ(node->fields[3].bitLength, 3);
    EXPECT_EQ(node->fields[4].name, "Last");
    EXPECT_EQ(node->fields[4].offset, 28u);

    const auto* color = f.types->type(enumIdx);
    ASSERT_NE(color, nullptr);
    EXPECT_EQ(color->kind, TypeKind::Enum);
    EXPECT_EQ(color->size, 4u);
    EXPECT_EQ(color->target, 0x0074u);
    ASSERT_EQ(color->enumerators.size(), 5u);
    EXPECT_EQ(color->enumerators[0].value, 7);
    EXPECT_EQ(color->enumerators[1].value, -1);
    EXPECT_EQ(color->enumerators[2].value, -32768);
    EXPECT_EQ(color->enumerators[3].value, INT32_MIN);
    EXPECT_EQ(color->enumerators[4].name, "Quad");
    EXPECT_EQ(color->enumerators[4].value, -5);

    const auto* large = f.types->type(uni);
    ASSERT_NE(large, nullptr);
    EXPECT_EQ(large->kind, TypeKind::Union);
    EXPECT_EQ(large->size, 8u);
    ASSERT_EQ(large->fields.size(), 2u);
    EXPECT_EQ(large->fields[1].offset, 0u);

    // Names through the hash.
    EXPECT_EQ(f.types->findByHash("_NODE"), def);
    EXPECT_EQ(f.types->findByHash("COLOR"), enumIdx);
    EXPECT_EQ(f.types->findType("_LARGE"), uni);
    EXPECT_FALSE(f.types->findType("_MISSING").has_value());
    EXPECT_FALSE(f.types->findType("").has_value());
    std::vector<std::string> names;
    f.types->forEachTypeName([&](std::string_view n) { names.emplace_back(n); return true; });
    EXPECT_EQ(names, (std::vector<std::string>{"_NODE", "COLOR", "_LARGE"}));
}

TEST(Tpi, SimpleTypes) {
    TpiBuilder b;
    Fixture f(b);
    struct Case { uint32_t ti; TypeKind kind; BaseKind base; uint64_t size; };
    for (Case c : {Case{0x0074, TypeKind::Base, BaseKind::Int, 4}, Case{0x0075, TypeKind::Base, BaseKind::UInt, 4},
                   Case{0x0070, TypeKind::Base, BaseKind::Char, 1}, Case{0x0010, TypeKind::Base, BaseKind::Char, 1},
                   Case{0x0020, TypeKind::Base, BaseKind::UChar, 1}, Case{0x0071, TypeKind::Base, BaseKind::WChar, 2},
                   Case{0x0011, TypeKind::Base, BaseKind::Int, 2}, Case{0x0021, TypeKind::Base, BaseKind::UInt, 2},
                   Case{0x0013, TypeKind::Base, BaseKind::Int, 8}, Case{0x0023, TypeKind::Base, BaseKind::UInt, 8},
                   Case{0x0040, TypeKind::Base, BaseKind::Float, 4}, Case{0x0041, TypeKind::Base, BaseKind::Float, 8},
                   Case{0x0030, TypeKind::Base, BaseKind::Bool, 1}, Case{0x0008, TypeKind::Base, BaseKind::HResult, 4},
                   Case{0x0003, TypeKind::Void, BaseKind::Void, 0}, Case{0x0603, TypeKind::Pointer, BaseKind::Void, 8},
                   Case{0x0474, TypeKind::Pointer, BaseKind::Void, 4}, Case{0x0674, TypeKind::Pointer, BaseKind::Void, 8}}) {
        SCOPED_TRACE(c.ti);
        const auto* t = f.types->type(c.ti);
        ASSERT_NE(t, nullptr);
        EXPECT_EQ(t->kind, c.kind);
        EXPECT_EQ(t->size, c.size);
        if (c.kind == TypeKind::Base) {
            EXPECT_EQ(t->base, c.base);
        }
        if (c.kind == TypeKind::Pointer) {
            EXPECT_EQ(t->target, c.ti & 0xFFu);
        }
    }
    EXPECT_EQ(f.types->type(0x00FF), nullptr);  // not a simple type
    EXPECT_EQ(f.types->type(0x1000), nullptr);  // no records
    EXPECT_EQ(f.types->type(0xFFFFFFFF), nullptr);
}

// A record whose length runs past the stream ends the table there; the
// header's end index is not trusted beyond the records.
TEST(Tpi, RecordLengthPastTheEndEndsTheTable) {
    TpiBuilder b;
    Payload ptr;
    ptr.u32(0x0074).u32(0x1000c);
    b.add(cv::LF_POINTER, ptr);
    b.records.push_back({0xFF, 0x7F, 0x05, 0x15, 1, 2, 3});  // claims 0x7FFF bytes
    b.hashNames.push_back("");
    Fixture f(b, true, 0x1000 + 100000);
    EXPECT_EQ(f.types->tpi().end(), 0x1001u);
    EXPECT_NE(f.types->type(0x1000), nullptr);
    EXPECT_EQ(f.types->type(0x1001), nullptr);
    EXPECT_FALSE(f.types->findType("x").has_value());
}

TEST(Tpi, TruncatedHeaderIsAFormatError) {
    std::vector<uint8_t> file = msfOf({{}, {}, std::vector<uint8_t>(40, 0)});
    Msf msf = Msf::open(nt::Bytes(file.data(), file.size()));
    EXPECT_THROW(TypeStream::parse(msf, 2), nt::FormatError);
    EXPECT_THROW(PdbTypes(msf, 0x8664), nt::FormatError);
    EXPECT_THROW(TypeStream::parse(msf, 4), nt::FormatError);  // absent
    TpiBuilder b;
    auto s = b.stream();
    s[16] = 0xFF;  // record bytes past the stream
    file = msfOf({{}, {}, s});
    msf = Msf::open(nt::Bytes(file.data(), file.size()));
    EXPECT_THROW(TypeStream::parse(msf, 2), nt::FormatError);
}

// Field lists that continue into each other through LF_INDEX: the chain is
// followed once and a cycle makes the type incomplete, not endless.
TEST(Tpi, FieldListContinuationAndCycle) {
    TpiBuilder b;
    // 0x1000 -> 0x1001 -> 0x1000 ...
    Payload a;
    a.raw(member(0x0074, 0, "A")).u16(cv::LF_INDEX).u16(0).u32(0x1001);
    b.add(cv::LF_FIELDLIST, a);
    Payload c;
    c.raw(member(0x0074, 4, "B")).u16(cv::LF_INDEX).u16(0).u32(0x1000);
    b.add(cv::LF_FIELDLIST, c);
    uint32_t cyc = b.add(cv::LF_STRUCTURE, structure(cv::LF_STRUCTURE, 2, 0, 0x1000, 8, "Cycle"));
    // A proper two-part list: 0x1003 -> 0x1004.
    Payload d;
    d.raw(member(0x0074, 0, "First")).u16(cv::LF_INDEX).u16(0).u32(0x1004);
    b.add(cv::LF_FIELDLIST, d);
    Payload e;
    e.raw(member(0x0074, 4, "Second"));
    b.add(cv::LF_FIELDLIST, e);
    uint32_t two = b.add(cv::LF_STRUCTURE, structure(cv::LF_STRUCTURE, 2, 0, 0x1003, 8, "Two"));
    // A field list pointing at a non-field-list record.
    uint32_t bad = b.add(cv::LF_STRUCTURE, structure(cv::LF_STRUCTURE, 2, 0, cyc, 8, "Bad"));
    Fixture f(b);
    const auto* t = f.types->type(cyc);
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->incomplete);
    ASSERT_EQ(t->fields.size(), 2u);  // each list once
    EXPECT_EQ(t->fields[1].name, "B");
    const auto* t2 = f.types->type(two);
    ASSERT_NE(t2, nullptr);
    EXPECT_FALSE(t2->incomplete);
    ASSERT_EQ(t2->fields.size(), 2u);
    EXPECT_EQ(t2->fields[1].name, "Second");
    EXPECT_EQ(t2->fields[1].offset, 4u);
    const auto* t3 = f.types->type(bad);
    ASSERT_NE(t3, nullptr);
    EXPECT_TRUE(t3->incomplete);
    EXPECT_TRUE(t3->fields.empty());
}

// Arrays of 2^64-1 bytes, arrays of themselves, modifiers of themselves,
// forward references without a definition, members of unknown kind.
TEST(Tpi, HostileRecordsGiveIncompleteTypes) {
    TpiBuilder b;
    Payload huge;
    huge.u32(0x0074).u32(0x0023).u16(0x800a).u64(~0ull).str("");
    uint32_t hugeArr = b.add(cv::LF_ARRAY, huge);
    Payload self;
    self.u32(0x1001).u32(0x0023).u16(16).str("");
    uint32_t selfArr = b.add(cv::LF_ARRAY, self);
    Payload selfMod;
    selfMod.u32(0x1002).u16(1);
    uint32_t modCycle = b.add(cv::LF_MODIFIER, selfMod);
    uint32_t lonely = b.add(cv::LF_STRUCTURE, structure(cv::LF_STRUCTURE, 0, 0x80, 0, 0, "Lonely"));
    Payload unk;
    unk.raw(member(0x0074, 0, "Good")).u16(0x1599).u16(0).u32(0x74);
    uint32_t flIdx = b.add(cv::LF_FIELDLIST, unk);
    uint32_t partial = b.add(cv::LF_STRUCTURE, structure(cv::LF_STRUCTURE, 2, 0, flIdx, 8, "Partial"));
    Payload shortPtr;
    shortPtr.u16(1);
    uint32_t badPtr = b.add(cv::LF_POINTER, shortPtr);
    // A chain of 100 arrays of arrays: deeper than kMaxDepth.
    uint32_t prev = 0x0074;
    for (int i = 0; i < 100; ++i) {
        Payload p;
        p.u32(prev).u32(0x0023).u16(4).str("");
        prev = b.add(cv::LF_ARRAY, p);
    }
    Fixture f(b, false);
    const auto* h = f.types->type(hugeArr);
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->size, ~0ull);
    EXPECT_EQ(h->count, ~0ull / 4);
    const auto* s = f.types->type(selfArr);
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(s->incomplete);
    const auto* m = f.types->type(modCycle);
    ASSERT_NE(m, nullptr);
    EXPECT_TRUE(m->incomplete);
    const auto* l = f.types->type(lonely);
    ASSERT_NE(l, nullptr);
    EXPECT_TRUE(l->incomplete);
    EXPECT_EQ(l->name, "Lonely");
    EXPECT_EQ(f.types->findType("Lonely"), lonely);  // only a forward reference: still found
    const auto* p = f.types->type(partial);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(p->incomplete);
    ASSERT_EQ(p->fields.size(), 1u);
    EXPECT_EQ(p->fields[0].name, "Good");
    const auto* bp = f.types->type(badPtr);
    ASSERT_NE(bp, nullptr);
    EXPECT_TRUE(bp->incomplete);
    const auto* deep = f.types->type(prev);
    ASSERT_NE(deep, nullptr);
    EXPECT_TRUE(deep->incomplete);  // the innermost arrays are past the depth limit
    EXPECT_EQ(deep->size, 4u);
    // No hash stream: names still resolve through the fallback index.
    EXPECT_FALSE(f.types->tpi().hasHash());
    EXPECT_EQ(f.types->findType("Partial"), partial);
    EXPECT_FALSE(f.types->findByHash("Partial").has_value());
}

// The pointer size comes from the machine, else from the pointer records.
TEST(Tpi, PointerSizeFromMachineOrRecords) {
    TpiBuilder b;
    Payload ptr;
    ptr.u32(0x0074).u32(0x0000000a | (4u << 13));  // CV_PTR_NEAR32
    b.add(cv::LF_POINTER, ptr);
    auto file = msfOf({{}, {}, b.stream()});
    Msf msf = Msf::open(nt::Bytes(file.data(), file.size()));
    EXPECT_EQ(PdbTypes(msf, 0).pointerSize(), 4u);
    EXPECT_EQ(PdbTypes(msf, 0x14c).pointerSize(), 4u);
    EXPECT_EQ(PdbTypes(msf, 0x8664).pointerSize(), 8u);
}

TEST(Tpi, NumericLeaves) {
    auto read = [](std::vector<uint8_t> v) {
        uint64_t off = 0;
        return cv::readNumeric(nt::Bytes(v.data(), v.size()), off);
    };
    EXPECT_EQ(read({0x34, 0x12})->value, 0x1234);
    EXPECT_EQ(read({0x02, 0x80, 0xFF, 0xFF})->value, 0xFFFF);        // LF_USHORT
    EXPECT_EQ(read({0x04, 0x80, 0xFF, 0xFF, 0xFF, 0xFF})->value, 0xFFFFFFFF);  // LF_ULONG
    EXPECT_FALSE(read({0x04, 0x80, 0xFF}).has_value());               // truncated
    EXPECT_FALSE(read({0x05, 0x80, 0, 0, 0, 0}).has_value());         // LF_REAL32: not an integer
    EXPECT_FALSE(read({0x01}).has_value());
}
