// The TPI type provider on every PDB of the corpus and the Wine fixtures,
// compared with `llvm-pdbutil-16 dump -types` (skips when it is absent).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "pdb/pdb_file.h"
#include "pdb/pdb_types.h"
#include "pdb/type_records.h"
#include "pdbutil_oracle.h"
#include "support/test_support.h"

using namespace nt::pdb;
using namespace nt::pdbtest;
using nt::types::TypeKind;

namespace {

bool isUdtKind(const std::string& k) {
    return k == "LF_STRUCTURE" || k == "LF_CLASS" || k == "LF_UNION" || k == "LF_INTERFACE";
}

// The members / enumerators of a field list chain, as llvm-pdbutil shows them.
std::vector<const TypeRec*> fieldListChain(const std::map<uint32_t, TypeRec>& recs, uint32_t fl) {
    std::vector<const TypeRec*> chain;
    std::set<uint32_t> seen;
    while (fl && seen.insert(fl).second) {
        auto it = recs.find(fl);
        if (it == recs.end()) break;
        chain.push_back(&it->second);
        fl = it->second.continuation;
    }
    return chain;
}

bool sameEnumValue(int64_t ours, const std::string& printed) {
    if (!printed.empty() && printed[0] == '-') return ours == std::stoll(printed);
    uint64_t u = std::stoull(printed);
    return static_cast<uint64_t>(ours) == u || (ours < 0 && static_cast<uint32_t>(ours) == u);
}

struct Totals {
    size_t pdbs = 0, udts = 0, fields = 0, bitfields = 0, bases = 0, enums = 0, enumerators = 0;
    size_t forwardRefs = 0, forwardSameIndex = 0, arrays = 0, pointers = 0, hashNames = 0;
};

}  // namespace

// Every complete UDT: kind, name, size; every data member (and direct base)
// name, offset, type, bitfield position/length; every enum's enumerators;
// every array's size and count; every pointer's size; forward references
// land on a definition of the same name and size.
TEST(PdbTypesCorpus, EveryUdtAndEnumMatchesPdbutil) {
    if (!havePdbutil()) GTEST_SKIP() << "llvm-pdbutil-16 not found: no oracle to compare with";
    auto pdbs = nt::pdbtest::allPdbs();
    if (pdbs.empty()) GTEST_SKIP() << "no corpus PDBs";
    Totals tot;
    for (const auto& path : pdbs) {
        SCOPED_TRACE(path);
        auto pdb = PdbFile::open(path);
        auto* types = dynamic_cast<const PdbTypes*>(pdb->types());
        ASSERT_NE(types, nullptr);
        auto recs = parseTypes(pdbutil("-types", path));
        ASSERT_FALSE(recs.empty());
        ++tot.pdbs;
        EXPECT_EQ(types->tpi().begin(), recs.begin()->first);
        EXPECT_EQ(types->tpi().end(), recs.rbegin()->first + 1);
        for (const auto& [ti, r] : recs) {
            SCOPED_TRACE(r.kind + " " + std::to_string(ti) + " " + r.name);
            const nt::types::Type* t = types->type(ti);
            if (isUdtKind(r.kind) && !r.forward) {
                ++tot.udts;
                ASSERT_NE(t, nullptr);
                EXPECT_EQ(t->kind, r.kind == "LF_UNION" ? TypeKind::Union : TypeKind::Struct);
                EXPECT_EQ(t->name, r.name);
                EXPECT_EQ(t->size, r.size);
                EXPECT_FALSE(t->incomplete);
                std::vector<TypeMember> want;
                for (const TypeRec* fl : fieldListChain(recs, r.fieldList))
                    want.insert(want.end(), fl->members.begin(), fl->members.end());
                ASSERT_EQ(t->fields.size(), want.size());
                for (size_t i = 0; i < want.size(); ++i) {
                    const auto& f = t->fields[i];
                    EXPECT_EQ(f.name, want[i].name);
                    EXPECT_EQ(f.offset, want[i].offset) << f.name;
                    auto bf = recs.find(want[i].type);
                    if (bf != recs.end() && bf->second.kind == "LF_BITFIELD") {
                        ++tot.bitfields;
                        EXPECT_EQ(f.type, bf->second.bitType) << f.name;
                        EXPECT_EQ(f.bitPosition, bf->second.bitOffset) << f.name;
                        EXPECT_EQ(f.bitLength, bf->second.bits) << f.name;
                    } else {
                        EXPECT_EQ(f.type, want[i].type) << f.name;
                        EXPECT_EQ(f.bitLength, 0) << f.name;
                    }
                    ++(want[i].name == "__BaseClass" ? tot.bases : tot.fields);
                }
            } else if (r.kind == "LF_ENUM" && !r.forward) {
                ++tot.enums;
                ASSERT_NE(t, nullptr);
                EXPECT_EQ(t->kind, TypeKind::Enum);
                EXPECT_EQ(t->name, r.name);
                std::vector<std::pair<std::string, std::string>> want;
                for (const TypeRec* fl : fieldListChain(recs, r.fieldList))
                    want.insert(want.end(), fl->enumerators.begin(), fl->enumerators.end());
                ASSERT_EQ(t->enumerators.size(), want.size());
                for (size_t i = 0; i < want.size(); ++i) {
                    EXPECT_EQ(t->enumerators[i].name, want[i].first);
                    EXPECT_TRUE(sameEnumValue(t->enumerators[i].value, want[i].second))
                        << want[i].first << " = " << t->enumerators[i].value << " vs " << want[i].second;
                }
                tot.enumerators += want.size();
            } else if ((isUdtKind(r.kind) || r.kind == "LF_ENUM") && r.forward && r.forwardTo) {
                ++tot.forwardRefs;
                ASSERT_NE(t, nullptr);
                const TypeRec& def = recs.at(r.forwardTo);
                EXPECT_FALSE(t->incomplete);
                EXPECT_EQ(t->name, def.name);
                if (r.kind != "LF_ENUM") {
                    EXPECT_EQ(t->size, def.size);
                }
                auto d = types->definitionOf(ti);
                ASSERT_TRUE(d.has_value());
                if (*d == r.forwardTo) ++tot.forwardSameIndex;
            } else if (r.kind == "LF_ARRAY") {
                ++tot.arrays;
                ASSERT_NE(t, nullptr);
                EXPECT_EQ(t->kind, TypeKind::Array);
                EXPECT_EQ(t->size, r.size);
                EXPECT_EQ(t->target, r.element);
                const nt::types::Type* e = types->type(r.element);
                ASSERT_NE(e, nullptr);
                if (e->size) {
                    EXPECT_EQ(t->count, r.size / e->size);
                }
            } else if (r.kind == "LF_POINTER") {
                ++tot.pointers;
                ASSERT_NE(t, nullptr);
                EXPECT_EQ(t->kind, TypeKind::Pointer);
                EXPECT_EQ(t->size, r.pointerKind == "ptr64" ? 8u : 4u) << r.pointerKind;
            }
        }
    }
    std::printf("compared %zu PDBs: %zu UDTs, %zu fields (%zu bitfields), %zu bases, %zu enums, %zu enumerators, "
                "%zu forward refs (%zu to pdbutil's index), %zu arrays, %zu pointers\n",
                tot.pdbs, tot.udts, tot.fields, tot.bitfields, tot.bases, tot.enums, tot.enumerators,
                tot.forwardRefs, tot.forwardSameIndex, tot.arrays, tot.pointers);
    EXPECT_GE(tot.pdbs, 20u);
    EXPECT_GT(tot.udts, 1000u);
}

// Every named UDT/enum definition is found through the TPI hash: by name
// (findByHash), or, for a scoped (local) type, among the candidates of its
// unique name. Anonymous types with a unique name hash their whole record
// (LLVM's hashBufferV8, not implemented): findType reaches them by the
// fallback name index. findType finds every name; forEachTypeName lists it.
TEST(PdbTypesCorpus, EveryUdtNameIsFoundThroughTheHash) {
    if (!havePdbutil()) GTEST_SKIP() << "llvm-pdbutil-16 not found: no oracle to compare with";
    auto pdbs = nt::pdbtest::allPdbs();
    if (pdbs.empty()) GTEST_SKIP() << "no corpus PDBs";
    size_t names = 0, byName = 0, byUnique = 0, anonymous = 0;
    for (const auto& path : pdbs) {
        SCOPED_TRACE(path);
        auto pdb = PdbFile::open(path);
        auto* types = dynamic_cast<const PdbTypes*>(pdb->types());
        ASSERT_NE(types, nullptr);
        ASSERT_TRUE(types->tpi().hasHash());
        auto recs = parseTypes(pdbutil("-types", path));
        std::set<std::string> defined;
        for (const auto& [ti, r] : recs) {
            if (!(isUdtKind(r.kind) || r.kind == "LF_ENUM") || r.forward) continue;
            SCOPED_TRACE(r.name);
            defined.insert(r.name);
            if (r.scoped) {
                auto c = types->tpi().candidates(r.unique);
                EXPECT_NE(std::find(c.begin(), c.end(), ti), c.end());
                ++byUnique;
            } else if (r.name == "<unnamed-tag>" && !r.unique.empty()) {
                ++anonymous;
            } else {
                auto h = types->findByHash(r.name);
                ASSERT_TRUE(h.has_value());
                EXPECT_EQ(recs.at(*h).name, r.name);
                ++byName;
            }
        }
        for (const auto& name : defined) {
            SCOPED_TRACE(name);
            ++names;
            auto id = types->findType(name);
            ASSERT_TRUE(id.has_value());
            EXPECT_EQ(recs.at(*id).name, name);
            EXPECT_FALSE(recs.at(*id).forward);
        }
        std::set<std::string> listed;
        types->forEachTypeName([&](std::string_view n) { listed.insert(std::string(n)); return true; });
        for (const auto& name : defined) EXPECT_TRUE(listed.count(name)) << name;
    }
    std::printf("%zu names found by findType; definitions through the hash: %zu by name, %zu scoped by unique "
                "name, %zu anonymous (not hashed by name)\n", names, byName, byUnique, anonymous);
    EXPECT_GT(names, 1000u);
}

// The IPI stream (stream 4) read by the same TypeStream: its index range and
// every LF_FUNC_ID / LF_MFUNC_ID name and type equal `dump -ids`.
TEST(PdbTypesCorpus, IpiFuncIdsMatchPdbutil) {
    if (!havePdbutil()) GTEST_SKIP() << "llvm-pdbutil-16 not found: no oracle to compare with";
    auto pdbs = nt::pdbtest::allPdbs();
    if (pdbs.empty()) GTEST_SKIP() << "no corpus PDBs";
    size_t ids = 0, funcs = 0;
    static const std::regex funcRe(R"(^\s+name = (.*), type = 0x([0-9A-F]+), (?:parent scope|class type) = )");
    for (const auto& path : pdbs) {
        SCOPED_TRACE(path);
        auto pdb = PdbFile::open(path);
        TypeStream ipi = TypeStream::parse(pdb->msf(), 4);
        std::string out = pdbutil("-ids", path);
        auto recs = parseTypes(out);
        if (recs.empty()) {
            EXPECT_EQ(ipi.begin(), ipi.end());
            continue;
        }
        EXPECT_EQ(ipi.begin(), recs.begin()->first);
        EXPECT_EQ(ipi.end(), recs.rbegin()->first + 1);
        ids += recs.size();
        // name/type lines follow each LF_FUNC_ID / LF_MFUNC_ID header.
        std::istringstream in(out);
        std::string line;
        uint32_t current = 0;
        std::smatch m;
        while (std::getline(in, line)) {
            auto bar = line.find(" | LF_");
            if (bar != std::string::npos) {
                current = line.find("FUNC_ID") != std::string::npos
                              ? static_cast<uint32_t>(std::stoul(line.substr(line.find("0x") + 2), nullptr, 16))
                              : 0;
                continue;
            }
            if (!current || !std::regex_search(line, m, funcRe)) continue;
            auto r = ipi.record(current);
            ASSERT_TRUE(r.has_value());
            auto f = nt::pdb::cv::parseFuncId(*r);
            ASSERT_TRUE(f.has_value()) << current;
            EXPECT_EQ(std::string(f->name), std::string(m[1]));
            EXPECT_EQ(f->type, std::stoul(m[2], nullptr, 16));
            ++funcs;
            current = 0;
        }
    }
    std::printf("IPI: %zu records, %zu function ids compared\n", ids, funcs);
    EXPECT_GT(funcs, 100u);
}
