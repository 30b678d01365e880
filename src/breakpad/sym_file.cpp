#include "breakpad/sym_file.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.h"

namespace nt::breakpad {

namespace {

// No single function, line, inline range or CFI range is 4 GiB long (PE
// images are smaller than that, and so is any real function elsewhere); a
// larger size is corruption, and kept it would make one record shadow every
// function after it.
constexpr uint64_t kMaxRecordSize = 0xffffffffull;

bool isBlank(char c) { return c == ' ' || c == '\t'; }

// Whitespace-separated fields of a line, with the rest of the line (names
// contain spaces) available after the fixed fields.
class Fields {
public:
    explicit Fields(std::string_view line) : rest_(line) {}

    // The next field; empty when the line has no more.
    std::string_view next() {
        skipBlanks();
        if (rest_.empty()) return {};
        size_t n = 0;
        while (n < rest_.size() && !isBlank(rest_[n])) ++n;
        std::string_view tok = rest_.substr(0, n);
        rest_.remove_prefix(n);
        return tok;
    }
    std::string_view peek() const {
        Fields copy = *this;
        return copy.next();
    }
    // The remainder after the separator, trailing blanks removed; may be empty.
    std::string_view rest() {
        skipBlanks();
        std::string_view r = rest_;
        while (!r.empty() && isBlank(r.back())) r.remove_suffix(1);
        return r;
    }

private:
    void skipBlanks() {
        while (!rest_.empty() && isBlank(rest_.front())) rest_.remove_prefix(1);
    }
    std::string_view rest_;
};

std::optional<uint64_t> parseHex(std::string_view s) {
    if (s.empty() || s.size() > 16) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        unsigned d;
        if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
        else return std::nullopt;
        v = (v << 4) | d;
    }
    return v;
}

std::optional<uint32_t> parseHex32(std::string_view s) {
    auto v = parseHex(s);
    if (!v || *v > 0xffffffffull) return std::nullopt;
    return static_cast<uint32_t>(*v);
}

// Decimal, at most UINT32_MAX.
std::optional<uint32_t> parseDec32(std::string_view s) {
    if (s.empty() || s.size() > 10) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > 0xffffffffull) return std::nullopt;
    return static_cast<uint32_t>(v);
}

bool isHexDigit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// An address range that neither wraps nor is implausibly large.
bool validRange(uint64_t address, uint64_t size) {
    return size <= kMaxRecordSize && address <= UINT64_MAX - size;
}

bool covers(uint64_t start, uint64_t size, uint64_t rva) {
    return rva >= start && rva - start < size;
}

// Innermost record covering rva in a start-sorted vector with its prefix
// maximum of ends. Cost is the number of records that could cover rva.
template <class T, class Start, class Size>
const T* innermost(const std::vector<T>& recs, const std::vector<uint64_t>& maxEnd, uint64_t rva,
                   Start start, Size size) {
    auto it = std::upper_bound(recs.begin(), recs.end(), rva,
                               [&](uint64_t a, const T& r) { return a < start(r); });
    size_t i = static_cast<size_t>(it - recs.begin());
    while (i > 0) {
        --i;
        if (maxEnd[i] <= rva) break;
        if (covers(start(recs[i]), size(recs[i]), rva)) return &recs[i];
    }
    return nullptr;
}

template <class T, class Start, class Size>
std::vector<uint64_t> prefixMaxEnd(const std::vector<T>& recs, Start start, Size size) {
    std::vector<uint64_t> out;
    out.reserve(recs.size());
    uint64_t m = 0;
    for (const T& r : recs) {
        m = std::max(m, start(r) + size(r));  // validRange() checked at parse time
        out.push_back(m);
    }
    return out;
}

}  // namespace

std::optional<std::vector<CfiRule>> splitCfiRules(std::string_view rules) {
    std::vector<CfiRule> out;
    Fields f(rules);
    const char* exprBegin = nullptr;
    const char* exprEnd = nullptr;
    auto close = [&]() -> bool {
        if (out.empty()) return true;
        if (!exprBegin) return false;  // "REG:" with nothing after it
        out.back().expression = std::string_view(exprBegin, static_cast<size_t>(exprEnd - exprBegin));
        return true;
    };
    for (std::string_view tok = f.next(); !tok.empty(); tok = f.next()) {
        if (tok.size() > 1 && tok.back() == ':') {
            if (!close()) return std::nullopt;
            out.push_back(CfiRule{tok.substr(0, tok.size() - 1), {}});
            exprBegin = exprEnd = nullptr;
        } else {
            if (out.empty()) return std::nullopt;  // an expression with no register
            if (!exprBegin) exprBegin = tok.data();
            exprEnd = tok.data() + tok.size();
        }
    }
    if (!close()) return std::nullopt;
    return out;
}

class SymFile::Parser {
public:
    explicit Parser(SymFile& s) : s_(s) {}

    void run(Bytes bytes) {
        std::string_view text = bytes.asString();
        size_t pos = 0;
        bool first = true;
        while (pos < text.size()) {
            size_t nl = text.find('\n', pos);
            size_t end = nl == std::string_view::npos ? text.size() : nl;
            std::string_view line = text.substr(pos, end - pos);
            pos = nl == std::string_view::npos ? text.size() : nl + 1;
            ++lineNo_;
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (first) {
                // The MODULE record identifies the file; without it this is
                // not a symbol file and nothing else can be trusted.
                first = false;
                if (line.size() > kMaxLineLength || !parseModule(line))
                    throw FormatError("not a Breakpad symbol file: the first line is not a MODULE record");
                continue;
            }
            if (line.size() > kMaxLineLength) {
                ++s_.stats_.overlongLines;
                skip(fmt::format("line longer than {} bytes", kMaxLineLength));
                continue;
            }
            record(line);
        }
        if (first) throw FormatError("not a Breakpad symbol file: empty");
        s_.stats_.lines = lineNo_;
        finish();
    }

private:
    void skip(std::string msg) {
        ++s_.stats_.skipped;
        if (s_.stats_.messages.size() < kMaxMessages)
            s_.stats_.messages.push_back(fmt::format("line {}: {}", lineNo_, msg));
    }

    bool parseModule(std::string_view line) {
        Fields f(line);
        auto kw = f.next();
        if (kw != "MODULE") return false;
        auto os = f.next(), arch = f.next(), id = f.next();
        std::string_view name = f.rest();
        if (os.empty() || arch.empty() || id.empty() || name.empty()) return false;
        s_.module_ = ModuleRecord{os, arch, id, name};
        return true;
    }

    void record(std::string_view line) {
        Fields f(line);
        auto kw = f.next();
        if (kw.empty()) return;  // blank line
        // A line record starts with a hex address; keywords are not all hex
        // digits ("FUNC", "FILE" start with one, hence the whole-token test).
        if (std::all_of(kw.begin(), kw.end(), isHexDigit)) return lineRecord(line);
        if (kw == "FUNC") return func(f);
        if (kw == "PUBLIC") return publicRecord(f);
        if (kw == "FILE") return file(f);
        if (kw == "INLINE") return inlineRecord(f);
        if (kw == "INLINE_ORIGIN") return origin(f);
        if (kw == "STACK") return stack(f);
        if (kw == "INFO") return info(f);
        if (kw == "MODULE") return skip("second MODULE record ignored");
        // Newer dump_syms versions may add record kinds; they are not errors.
        ++s_.stats_.unknownRecords;
    }

    void info(Fields& f) {
        auto what = f.next();
        if (what != "CODE_ID") return;  // other INFO lines carry nothing we use
        auto id = f.next();
        if (id.empty()) return skip("INFO CODE_ID without an id");
        s_.codeId_ = id;
        s_.codeFile_ = f.rest();
    }

    void file(Fields& f) {
        auto id = f.next();
        auto n = parseDec32(id);
        std::string_view name = f.rest();
        if (!n || name.empty()) return skip("FILE: bad id or missing name");
        s_.files_.push_back(FileRecord{*n, name});
    }

    void origin(Fields& f) {
        auto id = f.next();
        auto n = parseDec32(id);
        std::string_view name = f.rest();
        if (!n || name.empty()) return skip("INLINE_ORIGIN: bad id or missing name");
        s_.origins_.push_back(InlineOriginRecord{*n, name});
    }

    static bool takeMultiple(Fields& f) {
        if (f.peek() == "m") {
            f.next();
            return true;
        }
        return false;
    }

    void func(Fields& f) {
        curFunc_ = -1;  // line records after a bad FUNC must not attach to the previous one
        bool m = takeMultiple(f);
        auto a = f.next(), sz = f.next(), ps = f.next();
        std::string_view name = f.rest();
        auto addr = parseHex(a);
        auto size = parseHex(sz);
        auto param = parseHex32(ps);
        if (!addr || !size || !param || name.empty())
            return skip("FUNC: missing or malformed field");
        if (!validRange(*addr, *size)) return skip("FUNC: size too large or range wraps");
        if (s_.funcs_.size() >= UINT32_MAX) return skip("FUNC: too many records");
        FuncRecord r;
        r.address = *addr;
        r.size = *size;
        r.paramSize = *param;
        r.multiple = m;
        r.name = name;
        r.firstLine = static_cast<uint32_t>(s_.lines_.size());
        r.firstInline = static_cast<uint32_t>(s_.inlines_.size());
        s_.funcs_.push_back(r);
        curFunc_ = static_cast<int64_t>(s_.funcs_.size() - 1);
    }

    void lineRecord(std::string_view line) {
        if (curFunc_ < 0) {
            ++s_.stats_.orphanLines;
            return skip("line record without a FUNC");
        }
        Fields f(line);
        auto a = f.next(), sz = f.next(), ln = f.next(), fi = f.next();
        auto addr = parseHex(a);
        auto size = parseHex(sz);
        auto lineNum = parseDec32(ln);
        auto fileNum = parseDec32(fi);
        if (!addr || !size || !lineNum || !fileNum || !f.next().empty())
            return skip("line record: missing or malformed field");
        if (!validRange(*addr, *size)) return skip("line record: size too large or range wraps");
        if (s_.lines_.size() >= UINT32_MAX) return skip("line record: too many records");
        s_.lines_.push_back(LineRecord{*addr, *size, *lineNum, *fileNum});
        ++s_.funcs_[static_cast<size_t>(curFunc_)].lineCount;
    }

    void inlineRecord(Fields& f) {
        if (curFunc_ < 0) return skip("INLINE without a FUNC");
        auto nl = f.next(), cl = f.next(), cf = f.next(), oi = f.next();
        auto nest = parseDec32(nl);
        auto callLine = parseDec32(cl);
        auto callFile = parseDec32(cf);
        auto originId = parseDec32(oi);
        if (!nest || !callLine || !callFile || !originId)
            return skip("INLINE: missing or malformed field");
        size_t firstRange = s_.inlineRanges_.size();
        uint32_t count = 0;
        for (std::string_view a = f.next(); !a.empty(); a = f.next()) {
            auto sz = f.next();
            auto addr = parseHex(a);
            auto size = parseHex(sz);
            if (!addr || !size || !validRange(*addr, *size)) {
                s_.inlineRanges_.resize(firstRange);
                return skip("INLINE: malformed address range");
            }
            s_.inlineRanges_.push_back(AddressRange{*addr, *size});
            ++count;
        }
        if (count == 0) return skip("INLINE: no address range");
        if (s_.inlines_.size() >= UINT32_MAX || firstRange >= UINT32_MAX) {
            s_.inlineRanges_.resize(firstRange);
            return skip("INLINE: too many records");
        }
        s_.inlines_.push_back(InlineRecord{*nest, *callLine, *callFile, *originId,
                                           static_cast<uint32_t>(firstRange), count});
        ++s_.funcs_[static_cast<size_t>(curFunc_)].inlineCount;
    }

    void publicRecord(Fields& f) {
        curFunc_ = -1;
        bool m = takeMultiple(f);
        auto a = f.next(), ps = f.next();
        std::string_view name = f.rest();
        auto addr = parseHex(a);
        auto param = parseHex32(ps);
        if (!addr || !param || name.empty()) return skip("PUBLIC: missing or malformed field");
        s_.publics_.push_back(PublicRecord{*addr, *param, m, name});
    }

    void stack(Fields& f) {
        curFunc_ = -1;
        auto kind = f.next();
        if (kind == "WIN") return stackWin(f);
        if (kind == "CFI") return stackCfi(f);
        skip("STACK: unknown kind");
    }

    void stackWin(Fields& f) {
        uint32_t v[9];
        for (uint32_t& x : v) {
            auto t = f.next();
            auto n = parseHex32(t);
            if (!n) return skip("STACK WIN: missing or malformed field");
            x = *n;
        }
        auto hp = f.next();
        if (v[0] > 4) return skip("STACK WIN: unknown frame type");
        if (hp != "0" && hp != "1") return skip("STACK WIN: bad has_program_string");
        StackWinRecord r;
        r.type = static_cast<StackWinType>(v[0]);
        r.rva = v[1];
        r.codeSize = v[2];
        r.prologSize = v[3];
        r.epilogSize = v[4];
        r.paramSize = v[5];
        r.savedRegisterSize = v[6];
        r.localSize = v[7];
        r.maxStackSize = v[8];
        r.hasProgramString = hp == "1";
        if (r.hasProgramString) {
            r.programString = f.rest();
            if (r.programString.empty()) return skip("STACK WIN: empty program string");
        } else {
            auto bp = f.next();
            auto n = parseHex32(bp);
            if (!n || *n > 1 || !f.next().empty()) return skip("STACK WIN: bad allocates_base_pointer");
            r.allocatesBasePointer = *n == 1;
        }
        (r.type == StackWinType::FrameData ? s_.winFrameData_ : s_.winOther_).push_back(r);
    }

    void stackCfi(Fields& f) {
        auto t = f.next();
        if (t.empty()) return skip("STACK CFI: missing address");
        if (t == "INIT") {
            curCfi_ = -1;
            auto a = f.next(), sz = f.next();
            auto addr = parseHex(a);
            auto size = parseHex(sz);
            std::string_view rules = f.rest();
            if (!addr || !size || rules.empty()) return skip("STACK CFI INIT: missing or malformed field");
            if (!validRange(*addr, *size)) return skip("STACK CFI INIT: size too large or range wraps");
            if (!splitCfiRules(rules)) return skip("STACK CFI INIT: malformed rules");
            if (s_.cfiInits_.size() >= UINT32_MAX) return skip("STACK CFI INIT: too many records");
            s_.cfiInits_.push_back(CfiInitRecord{*addr, *size, rules,
                                                 static_cast<uint32_t>(s_.cfiDeltas_.size()), 0});
            curCfi_ = static_cast<int64_t>(s_.cfiInits_.size() - 1);
            return;
        }
        if (curCfi_ < 0) return skip("STACK CFI delta without an INIT");
        auto addr = parseHex(t);
        std::string_view rules = f.rest();
        if (!addr || rules.empty()) return skip("STACK CFI: missing or malformed field");
        if (!splitCfiRules(rules)) return skip("STACK CFI: malformed rules");
        if (s_.cfiDeltas_.size() >= UINT32_MAX) return skip("STACK CFI: too many records");
        s_.cfiDeltas_.push_back(CfiDeltaRecord{*addr, rules});
        ++s_.cfiInits_[static_cast<size_t>(curCfi_)].deltaCount;
    }

    void finish() {
        auto byId = [](const auto& a, const auto& b) { return a.id < b.id; };
        auto sameId = [](const auto& a, const auto& b) { return a.id == b.id; };
        // Duplicated ids: the first declaration wins.
        std::stable_sort(s_.files_.begin(), s_.files_.end(), byId);
        s_.files_.erase(std::unique(s_.files_.begin(), s_.files_.end(), sameId), s_.files_.end());
        std::stable_sort(s_.origins_.begin(), s_.origins_.end(), byId);
        s_.origins_.erase(std::unique(s_.origins_.begin(), s_.origins_.end(), sameId), s_.origins_.end());

        // Lines within each function, by address (dump_syms writes them
        // sorted, but nothing guarantees it).
        for (const FuncRecord& fn : s_.funcs_) {
            auto b = s_.lines_.begin() + fn.firstLine;
            std::stable_sort(b, b + fn.lineCount,
                             [](const LineRecord& x, const LineRecord& y) { return x.address < y.address; });
        }

        auto byAddr = [](const auto& a, const auto& b) { return a.address < b.address; };
        auto sameAddr = [](const auto& a, const auto& b) { return a.address == b.address; };
        std::stable_sort(s_.funcs_.begin(), s_.funcs_.end(), byAddr);
        size_t before = s_.funcs_.size();
        // Two FUNCs at one address: the first in the file wins, as in
        // Breakpad's range map, which refuses the second.
        s_.funcs_.erase(std::unique(s_.funcs_.begin(), s_.funcs_.end(), sameAddr), s_.funcs_.end());
        s_.stats_.duplicateFuncs = before - s_.funcs_.size();
        // A FUNC whose range runs into the next one is cut at the next start:
        // the nearer start is the more specific claim, and an oversized FUNC
        // must not hide the functions after it.
        for (size_t i = 0; i + 1 < s_.funcs_.size(); ++i) {
            FuncRecord& fn = s_.funcs_[i];
            uint64_t next = s_.funcs_[i + 1].address;
            if (fn.size > next - fn.address) {
                fn.size = next - fn.address;
                ++s_.stats_.truncatedFuncs;
            }
        }

        std::stable_sort(s_.publics_.begin(), s_.publics_.end(), byAddr);
        before = s_.publics_.size();
        s_.publics_.erase(std::unique(s_.publics_.begin(), s_.publics_.end(), sameAddr), s_.publics_.end());
        s_.stats_.duplicatePublics = before - s_.publics_.size();

        auto winStart = [](const StackWinRecord& r) { return r.rva; };
        auto winSize = [](const StackWinRecord& r) { return static_cast<uint64_t>(r.codeSize); };
        auto byRva = [](const StackWinRecord& a, const StackWinRecord& b) { return a.rva < b.rva; };
        // Records of one group at the same rva: the first wins (Breakpad's
        // ContainedRangeMap refuses an identical range); the innermost
        // search would otherwise pick the last.
        auto sameRva = [](const StackWinRecord& a, const StackWinRecord& b) {
            return a.rva == b.rva && a.type == b.type;
        };
        for (auto* v : {&s_.winFrameData_, &s_.winOther_}) {
            std::stable_sort(v->begin(), v->end(), byRva);
            before = v->size();
            v->erase(std::unique(v->begin(), v->end(), sameRva), v->end());
            s_.stats_.duplicateStackWin += before - v->size();
        }
        s_.winFrameDataMaxEnd_ = prefixMaxEnd(s_.winFrameData_, winStart, winSize);
        s_.winOtherMaxEnd_ = prefixMaxEnd(s_.winOther_, winStart, winSize);

        for (const CfiInitRecord& c : s_.cfiInits_) {
            auto b = s_.cfiDeltas_.begin() + c.firstDelta;
            std::stable_sort(b, b + c.deltaCount, byAddr);
        }
        std::stable_sort(s_.cfiInits_.begin(), s_.cfiInits_.end(), byAddr);
        s_.cfiInitMaxEnd_ = prefixMaxEnd(
            s_.cfiInits_, [](const CfiInitRecord& r) { return r.address; },
            [](const CfiInitRecord& r) { return r.size; });
    }

    SymFile& s_;
    uint64_t lineNo_ = 0;
    int64_t curFunc_ = -1;  // FUNC that line and INLINE records attach to
    int64_t curCfi_ = -1;   // STACK CFI INIT that delta records attach to
};

SymFile SymFile::open(const std::string& path) {
    SymFile s;
    s.mapping_ = MappedFile::open(path);
    try {
        Parser(s).run(s.mapping_.bytes());
    } catch (const FormatError& e) {
        throw FormatError(fmt::format("{}: {}", path, e.what()));
    }
    return s;
}

SymFile SymFile::parse(Bytes bytes) {
    SymFile s;
    Parser(s).run(bytes);
    return s;
}

std::string_view SymFile::fileName(uint32_t id) const {
    auto it = std::lower_bound(files_.begin(), files_.end(), id,
                               [](const FileRecord& r, uint32_t v) { return r.id < v; });
    return it != files_.end() && it->id == id ? it->name : std::string_view{};
}

std::string_view SymFile::inlineOriginName(uint32_t id) const {
    auto it = std::lower_bound(origins_.begin(), origins_.end(), id,
                               [](const InlineOriginRecord& r, uint32_t v) { return r.id < v; });
    return it != origins_.end() && it->id == id ? it->name : std::string_view{};
}

namespace {

// The record with the greatest address <= rva, or null.
template <class T>
const T* floorByAddress(const std::vector<T>& v, uint64_t rva) {
    auto it = std::upper_bound(v.begin(), v.end(), rva,
                               [](uint64_t a, const T& r) { return a < r.address; });
    return it == v.begin() ? nullptr : &*(it - 1);
}

}  // namespace

std::optional<SymbolHit> SymFile::functionAt(uint64_t rva) const {
    const FuncRecord* fn = floorByAddress(funcs_, rva);
    if (fn && covers(fn->address, fn->size, rva))
        return SymbolHit{fn->name, fn->address, fn->size, fn->paramSize, false, fn};
    const PublicRecord* pub = floorByAddress(publics_, rva);
    // Breakpad's rule: a PUBLIC below the start of the nearest FUNC belongs
    // to code before that function, not to rva.
    if (pub && (!fn || pub->address > fn->address))
        return SymbolHit{pub->name, pub->address, 0, pub->paramSize, true, nullptr};
    return std::nullopt;
}

std::optional<LineHit> SymFile::lineAt(uint64_t rva) const {
    auto hit = functionAt(rva);
    if (!hit || !hit->func) return std::nullopt;
    const FuncRecord& fn = *hit->func;
    auto b = lines_.begin() + fn.firstLine;
    auto e = b + fn.lineCount;
    auto it = std::upper_bound(b, e, rva, [](uint64_t a, const LineRecord& r) { return a < r.address; });
    if (it == b) return std::nullopt;
    const LineRecord& l = *(it - 1);
    if (!covers(l.address, l.size, rva)) return std::nullopt;
    return LineHit{fileName(l.file), l.file, l.line, l.address, l.size};
}

std::vector<InlineFrame> SymFile::inlineFramesAt(uint64_t rva) const {
    std::vector<InlineFrame> out;
    auto hit = functionAt(rva);
    if (!hit || !hit->func) return out;
    const FuncRecord& fn = *hit->func;
    for (uint32_t i = 0; i < fn.inlineCount; ++i) {
        const InlineRecord& in = inlines_[fn.firstInline + i];
        for (uint32_t k = 0; k < in.rangeCount; ++k) {
            const AddressRange& r = inlineRanges_[in.firstRange + k];
            if (covers(r.address, r.size, rva)) {
                out.push_back(InlineFrame{inlineOriginName(in.origin), fileName(in.callSiteFile),
                                          in.callSiteLine, in.nestLevel});
                break;
            }
        }
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const InlineFrame& a, const InlineFrame& b) { return a.nestLevel < b.nestLevel; });
    return out;
}

const StackWinRecord* SymFile::stackWinAt(uint64_t rva) const {
    auto start = [](const StackWinRecord& r) { return r.rva; };
    auto size = [](const StackWinRecord& r) { return static_cast<uint64_t>(r.codeSize); };
    if (auto* r = innermost(winFrameData_, winFrameDataMaxEnd_, rva, start, size)) return r;
    return innermost(winOther_, winOtherMaxEnd_, rva, start, size);
}

std::vector<CfiRule> SymFile::cfiAt(uint64_t rva) const {
    std::vector<CfiRule> out;
    const CfiInitRecord* init = innermost(
        cfiInits_, cfiInitMaxEnd_, rva, [](const CfiInitRecord& r) { return r.address; },
        [](const CfiInitRecord& r) { return r.size; });
    if (!init) return out;
    auto apply = [&out](std::string_view text) {
        auto rules = splitCfiRules(text);  // validated at parse time
        if (!rules) return;
        for (const CfiRule& r : *rules) {
            auto it = std::find_if(out.begin(), out.end(), [&](const CfiRule& o) { return o.reg == r.reg; });
            if (it != out.end()) it->expression = r.expression;
            else out.push_back(r);
        }
    };
    apply(init->rules);
    for (uint32_t i = 0; i < init->deltaCount; ++i) {
        const CfiDeltaRecord& d = cfiDeltas_[init->firstDelta + i];
        if (d.address > rva) break;
        apply(d.rules);
    }
    return out;
}

}  // namespace nt::breakpad
