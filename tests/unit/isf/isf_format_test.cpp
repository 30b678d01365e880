// Hostile and damaged ISF input: corrupt or truncated xz, a decompression
// bomb, malformed JSON, and valid JSON describing impossible types. Every
// case either opens with a sane answer or fails with a one-line FormatError.
#include <gtest/gtest.h>

#include <lzma.h>

#include "base/error.h"
#include "isf/isf_file.h"
#include "isf/json_scan.h"
#include "isf/xz_decode.h"
#include "support/test_support.h"

namespace nt::isf {
namespace {

std::vector<uint8_t> xzCompress(const std::string& text) {
    std::vector<uint8_t> out(lzma_stream_buffer_bound(text.size()));
    size_t pos = 0;
    EXPECT_EQ(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr, reinterpret_cast<const uint8_t*>(text.data()),
                                      text.size(), out.data(), &pos, out.size()),
              LZMA_OK);
    out.resize(pos);
    return out;
}

std::string formatErrorOf(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const FormatError& e) {
        return e.what();
    }
    return "";
}

const std::string kMinimal =
    R"({"metadata":{"format":"6.1.0"},"base_types":{"pointer":{"kind":"int","signed":false,"size":4}},"user_types":{}})";

TEST(IsfFormat, XzRoundTripAndDamage) {
    const std::string json = test::readTextFile(test::fixtureFile("isf/widget.json"));
    const auto xz = xzCompress(json);
    auto f = IsfFile::fromBytes(xz);
    EXPECT_EQ(f->metadata().pdbName, "widget.pdb");
    EXPECT_TRUE(f->findType("_WIDGET"));

    auto truncated = xz;
    truncated.resize(xz.size() / 2);
    EXPECT_EQ(formatErrorOf([&] { IsfFile::fromBytes(truncated); }), "ISF: truncated xz stream");

    auto flipped = xz;
    flipped[flipped.size() / 2] ^= 0x55;
    EXPECT_NE(formatErrorOf([&] { IsfFile::fromBytes(flipped); }), "");

    // A bomb: more output than allowed stops at the bound.
    const auto zeros = xzCompress(std::string(1 << 20, ' '));
    EXPECT_EQ(formatErrorOf([&] { decodeXz(zeros, 1 << 16); }), "ISF: decompressed size exceeds the limit of 65536 bytes");
    EXPECT_EQ(decodeXz(zeros).size(), 1u << 20);
}

TEST(IsfFormat, MalformedJsonIsOneLineError) {
    for (const std::string& bad : {std::string(""), std::string("{"), std::string("[]"), std::string("{\"a\":}"),
                                  std::string("{\"a\":1,}"), std::string("{\"a\":\"x\u0001\"}"),
                                  std::string("{\"a\":01}"), std::string("{\"a\":tru}"), std::string("{} x"),
                                  std::string("{\"metadata\":{}}"), std::string(100000, '[')}) {
        const std::string err = formatErrorOf([&] { IsfFile::fromJson(bad); });
        EXPECT_NE(err, "") << bad.substr(0, 20);
        EXPECT_EQ(err.find('\n'), std::string::npos);
        EXPECT_EQ(err.rfind("ISF: ", 0), 0u) << err;
    }
    EXPECT_EQ(formatErrorOf([&] { IsfFile::fromJson("{\"a\":\"unterminated"); }),
              "ISF: invalid JSON (unterminated string at byte 18)");
    EXPECT_EQ(formatErrorOf([&] { IsfFile::fromJson(std::string(200, '[')); }),
              "ISF: top level is not a JSON object");
    const std::string deep = "{\"user_types\":" + std::string(200, '[') + std::string(200, ']') + "}";
    EXPECT_EQ(formatErrorOf([&] { IsfFile::fromJson(deep); }), "ISF: invalid JSON (nested too deeply at byte 142)");
}

TEST(IsfFormat, MinimalFileAndPointerSize) {
    auto f = IsfFile::fromJson(kMinimal);
    EXPECT_EQ(f->pointerSize(), 4u);
    EXPECT_FALSE(f->findType("_X"));
    EXPECT_EQ(f->type(0)->base, types::BaseKind::UInt);  // the "pointer" base type
    EXPECT_EQ(f->type(1000), nullptr);
    EXPECT_EQ(f->symbolCount(), 0u);
    EXPECT_FALSE(f->symbolAt(0x1000));
    EXPECT_FALSE(f->metadata().hasPdb);
}

TEST(IsfFormat, ImpossibleTypesComeBackSane) {
    std::string pointerChain = R"({"kind":"base","name":"long"})";
    for (int i = 0; i < 60; ++i) pointerChain = R"({"kind":"pointer","subtype":)" + pointerChain + "}";
    const std::string json = R"({"metadata":{},"base_types":{"long":{"kind":"int","signed":true,"size":4}},
      "user_types":{
        "_A":{"kind":"struct","size":8,"fields":{
           "Self":{"offset":0,"type":{"kind":"array","count":4,"subtype":{"kind":"struct","name":"_A"}}},
           "Huge":{"offset":0,"type":{"kind":"array","count":18446744073709551615,"subtype":{"kind":"struct","name":"_A"}}},
           "Neg":{"offset":-4,"type":{"kind":"base","name":"long"}},
           "BadBits":{"offset":4,"type":{"kind":"bitfield","bit_position":70,"bit_length":3,"type":{"kind":"base","name":"long"}}},
           "Deep":{"offset":4,"type":)" + pointerChain + R"(},
           "Odd":{"offset":4,"type":{"kind":"martian"}},
           "Gone":{"offset":4,"type":{"kind":"struct","name":"_NOWHERE"}}}},
        "_B":{"kind":"union","size":"big","fields":[]}},
      "symbols":{"x":{"address":-1},"y":{"address":1.5},"z":{"address":16}}})";
    auto f = IsfFile::fromJson(json);
    const types::Type* a = f->type(*f->findType("_A"));
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->fields.size(), 6u);  // Neg dropped
    for (const auto& fld : a->fields) {
        const types::Type* t = f->type(fld.type);
        ASSERT_NE(t, nullptr) << fld.name;
        if (fld.name == "Self") {
            EXPECT_EQ(t->size, 32u);
        } else if (fld.name == "Huge") {
            EXPECT_EQ(t->count, 1ull << 32);
        } else if (fld.name == "BadBits") {
            EXPECT_EQ(fld.bitLength, 0);
        } else if (fld.name == "Gone") {
            EXPECT_TRUE(t->incomplete);
        }
    }
    const types::Type* b = f->type(*f->findType("_B"));
    EXPECT_EQ(b->kind, types::TypeKind::Union);
    EXPECT_TRUE(b->incomplete);
    EXPECT_EQ(f->symbolCount(), 1u);
    EXPECT_EQ(f->rvaOf("z"), 16u);
}

TEST(IsfFormat, ScannerHandlesEscapes) {
    const std::string doc = R"({"a\"b":1,"c\u0041":[true,false,null,-1.5e3]})";
    std::vector<std::string> keys;
    forEachJsonMember(doc, validateJsonDocument(doc), [&](std::string_view k, JsonSpan) {
        keys.push_back(decodeJsonString(k));
        return true;
    });
    EXPECT_EQ(keys, (std::vector<std::string>{"a\"b", "cA"}));
}

}  // namespace
}  // namespace nt::isf
