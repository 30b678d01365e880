#include "isf/json_scan.h"

#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace nt::isf {
namespace {

[[noreturn]] void fail(const char* what, size_t pos) {
    throw FormatError("ISF: invalid JSON (" + std::string(what) + " at byte " + std::to_string(pos) + ")");
}

size_t skipWs(std::string_view s, size_t pos) {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\r' || s[pos] == '\t')) ++pos;
    return pos;
}

bool isHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// pos at the opening quote; returns the position after the closing quote.
size_t skipString(std::string_view s, size_t pos) {
    if (pos >= s.size() || s[pos] != '"') fail("expected string", pos);
    ++pos;
    while (pos < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[pos]);
        if (c == '"') return pos + 1;
        if (c < 0x20) fail("control character in string", pos);
        if (c == '\\') {
            if (pos + 1 >= s.size()) break;
            const char e = s[pos + 1];
            if (e == 'u') {
                if (pos + 6 > s.size()) break;
                for (size_t i = 2; i < 6; ++i)
                    if (!isHex(s[pos + i])) fail("bad \\u escape", pos);
                pos += 6;
                continue;
            }
            if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't')
                fail("bad escape", pos);
            pos += 2;
            continue;
        }
        ++pos;
    }
    fail("unterminated string", pos);
}

size_t skipDigits(std::string_view s, size_t pos) {
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    return pos;
}

size_t skipNumber(std::string_view s, size_t pos) {
    const size_t start = pos;
    if (pos < s.size() && s[pos] == '-') ++pos;
    size_t d = skipDigits(s, pos);
    if (d == pos) fail("bad number", start);
    if (s[pos] == '0' && d > pos + 1) fail("leading zero", start);
    pos = d;
    if (pos < s.size() && s[pos] == '.') {
        d = skipDigits(s, pos + 1);
        if (d == pos + 1) fail("bad fraction", start);
        pos = d;
    }
    if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
        ++pos;
        if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) ++pos;
        d = skipDigits(s, pos);
        if (d == pos) fail("bad exponent", start);
        pos = d;
    }
    return pos;
}

size_t skipLiteral(std::string_view s, size_t pos) {
    for (std::string_view lit : {"true", "false", "null"})
        if (s.substr(pos, lit.size()) == lit) return pos + lit.size();
    fail("unexpected character", pos);
}

// After '{' + whitespace, or ',' + whitespace inside an object: a key and ':'.
size_t skipKeyColon(std::string_view s, size_t pos) {
    pos = skipWs(s, skipString(s, pos));
    if (pos >= s.size() || s[pos] != ':') fail("expected ':'", pos);
    return skipWs(s, pos + 1);
}

}  // namespace

size_t skipJsonValue(std::string_view s, size_t pos, unsigned maxDepth) {
    // Iterative (an explicit stack), so hostile nesting cannot exhaust the C++ stack.
    std::vector<char> stack;
    pos = skipWs(s, pos);
    for (;;) {
        if (pos >= s.size()) fail("unexpected end", pos);
        const char c = s[pos];
        bool valueDone = true;
        if (c == '{' || c == '[') {
            if (stack.size() >= maxDepth) fail("nested too deeply", pos);
            pos = skipWs(s, pos + 1);
            const char close = c == '{' ? '}' : ']';
            if (pos < s.size() && s[pos] == close) {
                ++pos;
            } else {
                stack.push_back(c);
                if (c == '{') pos = skipKeyColon(s, pos);
                valueDone = false;
            }
        } else if (c == '"') {
            pos = skipString(s, pos);
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            pos = skipNumber(s, pos);
        } else {
            pos = skipLiteral(s, pos);
        }
        if (!valueDone) continue;
        // A value ended: close containers or move to the next element.
        for (;;) {
            if (stack.empty()) return pos;
            pos = skipWs(s, pos);
            if (pos >= s.size()) fail("unexpected end", pos);
            const char open = stack.back();
            if (s[pos] == ',') {
                pos = skipWs(s, pos + 1);
                if (open == '{') pos = skipKeyColon(s, pos);
                break;
            }
            if (s[pos] == (open == '{' ? '}' : ']')) {
                stack.pop_back();
                ++pos;
                continue;
            }
            fail("expected ',' or closing bracket", pos);
        }
    }
}

JsonSpan validateJsonDocument(std::string_view doc) {
    const size_t begin = skipWs(doc, 0);
    const size_t end = skipJsonValue(doc, begin);
    if (skipWs(doc, end) != doc.size()) fail("trailing data", end);
    return {begin, end};
}

void forEachJsonMember(std::string_view s, JsonSpan obj,
                       const std::function<bool(std::string_view, JsonSpan)>& fn) {
    size_t pos = obj.begin;
    if (pos >= s.size() || obj.end > s.size() || s[pos] != '{') fail("expected object", pos);
    pos = skipWs(s, pos + 1);
    if (pos < obj.end && s[pos] == '}') return;
    while (pos < obj.end) {
        const size_t keyStart = pos;
        const size_t keyEnd = skipString(s, pos);
        pos = skipWs(s, keyEnd);
        if (pos >= obj.end || s[pos] != ':') fail("expected ':'", pos);
        const size_t valBegin = skipWs(s, pos + 1);
        const size_t valEnd = skipJsonValue(s, valBegin);
        if (valEnd > obj.end) fail("member runs past its object", valBegin);
        if (!fn(s.substr(keyStart + 1, keyEnd - keyStart - 2), JsonSpan{valBegin, valEnd})) return;
        pos = skipWs(s, valEnd);
        if (pos < obj.end && s[pos] == ',') {
            pos = skipWs(s, pos + 1);
            continue;
        }
        if (pos < obj.end && s[pos] == '}') return;
        fail("expected ',' or '}'", pos);
    }
    fail("unterminated object", pos);
}

size_t scanJsonObject(std::string_view s, size_t pos,
                      const std::function<size_t(std::string_view, size_t)>& fn) {
    if (pos >= s.size() || s[pos] != '{') fail("expected object", pos);
    pos = skipWs(s, pos + 1);
    if (pos < s.size() && s[pos] == '}') return pos + 1;
    for (;;) {
        const size_t keyStart = pos;
        const size_t keyEnd = skipString(s, pos);
        pos = skipWs(s, keyEnd);
        if (pos >= s.size() || s[pos] != ':') fail("expected ':'", pos);
        const size_t valBegin = skipWs(s, pos + 1);
        const size_t valEnd = fn(s.substr(keyStart + 1, keyEnd - keyStart - 2), valBegin);
        if (valEnd <= valBegin || valEnd > s.size()) fail("bad value", valBegin);
        pos = skipWs(s, valEnd);
        if (pos < s.size() && s[pos] == ',') {
            pos = skipWs(s, pos + 1);
            continue;
        }
        if (pos < s.size() && s[pos] == '}') return pos + 1;
        fail("expected ',' or '}'", pos);
    }
}

size_t skipJsonWhitespace(std::string_view doc, size_t pos) { return skipWs(doc, pos); }

bool findJsonMember(std::string_view doc, JsonSpan object, std::string_view key, JsonSpan& out) {
    bool found = false;
    forEachJsonMember(doc, object, [&](std::string_view k, JsonSpan v) {
        if (k == key) {
            out = v;
            found = true;
            return false;
        }
        return true;
    });
    return found;
}

std::string decodeJsonString(std::string_view raw) {
    if (raw.find('\\') == std::string_view::npos) return std::string(raw);
    std::string quoted;
    quoted.reserve(raw.size() + 2);
    quoted.push_back('"');
    quoted.append(raw);
    quoted.push_back('"');
    try {
        return nlohmann::json::parse(quoted).get<std::string>();
    } catch (const nlohmann::json::exception&) {
        throw FormatError("ISF: invalid string escape");
    }
}

}  // namespace nt::isf
