// ModuleImages: which image a module gets (dump memory vs. image path) and
// the identity check against the module list.
#include "pe/pe_image.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "support/test_support.h"
#include "unit/unwind/synth.h"

namespace nt {
namespace {

using test::SynthImage;
using test::SynthTarget;
namespace fs = std::filesystem;

constexpr uint64_t kBase = 0x10000000;

TEST(ModuleImages, MemoryImageAcceptedWhenIdentityMatches) {
    SynthImage img(Machine::Amd64);
    img.function(0x1000, 0x1010, img.unwindInfo(1, 0, 0, {}));
    SynthTarget t;
    t.modules = {img.module(kBase)};
    t.map(kBase, img.bytes);
    t.finish();
    ModuleImages images(t);
    const PeImage* p = images.image(t.modules[0]);
    ASSERT_TRUE(p);
    EXPECT_EQ(images.origin(t.modules[0]), "memory");
    EXPECT_EQ(p->timestamp(), img.timestamp);
    EXPECT_EQ(p->runtimeFunctions().size(), 1u);
    EXPECT_EQ(images.image(t.modules[0]), p);  // cached
}

TEST(ModuleImages, MemoryImageRejectedOnTimestampOrSizeMismatch) {
    SynthImage img(Machine::Amd64);
    for (int which = 0; which < 2; ++which) {
        SynthTarget t;
        Module m = img.module(kBase);
        if (which == 0) m.timestamp ^= 1; else m.size += 0x1000;
        t.modules = {m};
        t.map(kBase, img.bytes);
        t.finish();
        ModuleImages images(t);
        EXPECT_EQ(images.image(t.modules[0]), nullptr) << which;
        EXPECT_EQ(images.origin(t.modules[0]), "") << which;
    }
}

// Only the header page is in the dump (as in most minidumps): the file on the
// image path, with the same identity, is used instead.
TEST(ModuleImages, HeaderOnlyMemoryFallsBackToFile) {
    SynthImage img(Machine::Amd64);
    img.function(0x1000, 0x1010, img.unwindInfo(1, 0, 0, {}));
    char tmpl[] = "/tmp/ntimgXXXXXX";
    std::string dir = mkdtemp(tmpl);
    {
        // The synthetic image's sections have raw offset == virtual address,
        // so the bytes are also a valid image file.
        std::ofstream f(dir + "/SYNTH.DLL", std::ios::binary);
        f.write(reinterpret_cast<const char*>(img.bytes.data()), img.bytes.size());
    }
    std::vector<uint8_t> header(img.bytes.begin(), img.bytes.begin() + 0x1000);
    SynthTarget t;
    t.modules = {img.module(kBase)};
    t.map(kBase, header);
    t.finish();
    ModuleImages images(t);
    images.setImagePath({dir});
    const PeImage* p = images.image(t.modules[0]);
    ASSERT_TRUE(p);
    EXPECT_EQ(images.origin(t.modules[0]), dir + "/SYNTH.DLL");
    EXPECT_EQ(p->runtimeFunctions().size(), 1u);
    fs::remove_all(dir);
}

}  // namespace
}  // namespace nt
