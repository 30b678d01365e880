// The ISF reader on the JPCERT ntkrnlmp.pdb tables (ten builds, Win7 -> Win11),
// checked against the JSON read independently by Python's json module.
#include <gtest/gtest.h>

#include <dirent.h>

#include <map>
#include <sstream>

#include "isf/isf_file.h"
#include "support/test_support.h"

namespace nt::isf {
namespace {

constexpr const char* k5278 = "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";

// "size off:name off:name ..." of a user type, straight from the JSON.
std::string pythonLayout(const std::string& path, const std::string& type) {
    return test::captureOutput(
        "xz -dc '" + path + "' | python3 -c \"import json,sys; d=json.load(sys.stdin); t=d['user_types']['" + type +
        "']; print(t['size'], ' '.join(f'{v[\\\"offset\\\"]}:{k}' for k,v in sorted(t['fields'].items())))\"");
}

std::string ourLayout(const IsfFile& f, const std::string& name) {
    auto id = f.findType(name);
    if (!id) return "missing";
    const types::Type* t = f.type(*id);
    std::map<std::string, uint64_t> byName;
    for (const auto& fld : t->fields) byName[fld.name] = fld.offset;
    std::ostringstream os;
    os << t->size;
    bool first = true;
    for (const auto& [n, off] : byName) {
        os << (first ? " " : " ") << off << ":" << n;
        first = false;
    }
    os << "\n";
    return os.str();
}

const types::Field* field(const IsfFile& f, const types::Type& t, const std::string& name) {
    (void)f;
    for (const auto& fld : t.fields)
        if (fld.name == name) return &fld;
    return nullptr;
}

TEST(IsfCorpus, KernelStructLayoutsMatchPython) {
    NT_REQUIRE_CORPUS_FILE(path, k5278);
    auto f = IsfFile::open(path);
    for (const char* name : {"_EPROCESS", "_KTHREAD", "_OBJECT_HEADER", "_KTSS64"}) {
        const std::string oracle = pythonLayout(path, name);
        ASSERT_FALSE(oracle.empty()) << "python3/xz oracle did not run";
        EXPECT_EQ(ourLayout(*f, name), oracle) << name;
    }
}

TEST(IsfCorpus, KnownOffsetsOfBuild19041) {
    // 10.0.19041.804; values read from the JSON (python3 json) and matching
    // the published Windows 10 2004 x64 layouts.
    NT_REQUIRE_CORPUS_FILE(path, k5278);
    auto f = IsfFile::open(path);
    EXPECT_EQ(f->pointerSize(), 8u);

    const types::Type* ep = f->type(*f->findType("_EPROCESS"));
    EXPECT_EQ(ep->kind, types::TypeKind::Struct);
    EXPECT_EQ(ep->size, 0xa40u);
    EXPECT_EQ(field(*f, *ep, "Pcb")->offset, 0x0u);
    EXPECT_EQ(field(*f, *ep, "UniqueProcessId")->offset, 0x440u);
    EXPECT_EQ(field(*f, *ep, "ActiveProcessLinks")->offset, 0x448u);
    EXPECT_EQ(field(*f, *ep, "ImageFileName")->offset, 0x5a8u);
    const types::Type* image = f->type(field(*f, *ep, "ImageFileName")->type);
    EXPECT_EQ(image->kind, types::TypeKind::Array);
    EXPECT_EQ(image->count, 15u);
    EXPECT_EQ(f->type(image->target)->base, types::BaseKind::UChar);
    const types::Type* pid = f->type(field(*f, *ep, "UniqueProcessId")->type);
    EXPECT_EQ(pid->kind, types::TypeKind::Pointer);
    EXPECT_EQ(f->type(pid->target)->kind, types::TypeKind::Void);
    // Bitfield: _EPROCESS.AccountingFolded is bit 1 of the ULONG at 0x460 (Flags3).
    const types::Field* folded = field(*f, *ep, "AccountingFolded");
    EXPECT_EQ(folded->offset, 1120u);
    EXPECT_EQ(folded->bitPosition, 1);
    EXPECT_EQ(folded->bitLength, 1);
    EXPECT_EQ(f->type(folded->type)->base, types::BaseKind::UInt);

    const types::Type* kt = f->type(*f->findType("_KTHREAD"));
    EXPECT_EQ(kt->size, 0x430u);
    EXPECT_EQ(field(*f, *kt, "InitialStack")->offset, 0x28u);
    EXPECT_EQ(field(*f, *kt, "Teb")->offset, 0xf0u);

    const types::Type* oh = f->type(*f->findType("_OBJECT_HEADER"));
    EXPECT_EQ(oh->size, 0x38u);
    EXPECT_EQ(field(*f, *oh, "TypeIndex")->offset, 0x18u);
    EXPECT_EQ(field(*f, *oh, "Body")->offset, 0x30u);

    const types::Type* tss = f->type(*f->findType("_KTSS64"));
    EXPECT_EQ(tss->size, 0x68u);
    const types::Type* ist = f->type(field(*f, *tss, "Ist")->type);
    EXPECT_EQ(field(*f, *tss, "Ist")->offset, 0x1cu);
    EXPECT_EQ(ist->count, 8u);
    EXPECT_EQ(ist->size, 64u);

    // Enums: _POOL_TYPE.NonPagedPoolNx = 512.
    const types::Type* pool = f->type(*f->findType("_POOL_TYPE"));
    EXPECT_EQ(pool->kind, types::TypeKind::Enum);
    EXPECT_EQ(pool->size, 4u);
    bool nx = false;
    for (const auto& e : pool->enumerators) nx |= e.name == "NonPagedPoolNx" && e.value == 512;
    EXPECT_TRUE(nx);
}

TEST(IsfCorpus, SymbolsMatchTheTriageDumpKdbg) {
    // MANIFEST.md: these RVAs were matched against rizin-testbins/triage_x64.dmp's KDBG.
    NT_REQUIRE_CORPUS_FILE(path, k5278);
    auto f = IsfFile::open(path);
    EXPECT_EQ(f->rvaOf("PsLoadedModuleList"), 0xc2a390u);
    EXPECT_EQ(f->rvaOf("PsActiveProcessHead"), 0xc1e200u);
    EXPECT_EQ(f->rvaOf("KdDebuggerDataBlock"), 0xc00b20u);
    EXPECT_EQ(f->rvaOf("PspCidTable"), 0xcfc5c8u);
    EXPECT_FALSE(f->rvaOf("NoSuchSymbolAnywhere"));
    auto s = f->symbolAt(0xc1e200);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->rva, 0xc1e200u);
    auto inside = f->symbolAt(0xc1e200 + 4);
    ASSERT_TRUE(inside);
    EXPECT_EQ(inside->rva, 0xc1e200u);
    const std::string count = test::captureOutput(
        "xz -dc '" + path + "' | python3 -c \"import json,sys; print(len(json.load(sys.stdin)['symbols']))\"");
    EXPECT_EQ(std::to_string(f->symbolCount()) + "\n", count);
}

TEST(IsfCorpus, AllTenBuildsOpenAndNameThemselves) {
    const std::string dir = test::corpusFile("jpcert-isf/ntkrnlmp.pdb");
    if (dir.empty()) GTEST_SKIP() << "corpus directory jpcert-isf/ntkrnlmp.pdb not found";
    DIR* d = opendir(dir.c_str());
    ASSERT_NE(d, nullptr);
    int opened = 0;
    while (dirent* e = readdir(d)) {
        const std::string name = e->d_name;
        if (name.size() < 8 || name.substr(name.size() - 8) != ".json.xz") continue;
        auto f = IsfFile::open(dir + "/" + name);
        const auto& m = f->metadata();
        EXPECT_EQ(m.guid + "-" + std::to_string(m.age) + ".json.xz", name);
        EXPECT_EQ(m.pdbName, "ntkrnlmp.pdb");
        EXPECT_EQ(m.machine, 0x8664u);
        EXPECT_EQ(f->pointerSize(), 8u);
        auto ep = f->findType("_EPROCESS");
        ASSERT_TRUE(ep) << name;
        const types::Type* t = f->type(*ep);
        EXPECT_GT(t->fields.size(), 100u) << name;
        EXPECT_EQ(t->fields.front().name, "Pcb") << name;
        ++opened;
    }
    closedir(d);
    EXPECT_EQ(opened, 10);
}

}  // namespace
}  // namespace nt::isf
