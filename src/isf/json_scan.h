// A validating JSON skimmer: finds where values begin and end without
// building a DOM. The ISF loader validates the whole document once with it,
// then indexes the big sections (user_types, enums, symbols) by byte range
// and parses a single type's JSON only when someone asks for that type: a
// 6 MB kernel ISF holds ~1,600 types and a session looks at a handful.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace nt::isf {

// Byte range [begin, end) of one JSON value inside a document.
struct JsonSpan {
    size_t begin = 0;
    size_t end = 0;
    std::string_view in(std::string_view doc) const { return doc.substr(begin, end - begin); }
};

// Deepest nesting accepted; ISF needs about ten levels (pointer to array of pointer...).
inline constexpr unsigned kMaxJsonDepth = 128;

// Returns the end of the value starting at (or after whitespace from) pos.
// Validates strings, numbers, literals and nesting. Throws FormatError.
size_t skipJsonValue(std::string_view doc, size_t pos, unsigned maxDepth = kMaxJsonDepth);

// Validates that doc is exactly one JSON value (plus whitespace); returns its span.
JsonSpan validateJsonDocument(std::string_view doc);

// Calls fn(key, valueSpan) for each member of the object at span (which must
// have been validated). key is the raw text between the quotes; use
// decodeJsonString when it contains a backslash. fn returns false to stop.
// Throws FormatError when span is not an object.
void forEachJsonMember(std::string_view doc, JsonSpan object,
                       const std::function<bool(std::string_view key, JsonSpan value)>& fn);

// Iterates the members of the object whose '{' is at pos, in one pass:
// fn(key, valueBegin) must return the end of that value (skipJsonValue, or a
// nested scanJsonObject). Returns the position after the closing '}'. Lets a
// loader index nested sections without scanning their bytes twice.
size_t scanJsonObject(std::string_view doc, size_t pos,
                      const std::function<size_t(std::string_view key, size_t valueBegin)>& fn);

size_t skipJsonWhitespace(std::string_view doc, size_t pos);

// The member named key of the object at span, if present.
bool findJsonMember(std::string_view doc, JsonSpan object, std::string_view key, JsonSpan& out);

// Decodes the raw content of a JSON string (between the quotes) with escapes.
std::string decodeJsonString(std::string_view raw);

}  // namespace nt::isf
