#include "symsrv/cab_expand.h"

#include <mspack.h>

#include <algorithm>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>

#include "base/error.h"

namespace nt::symsrv {
namespace {

// libmspack does all I/O through an mspack_system; ours serves the input
// cabinet from memory and hands output to the sink, so nothing touches the
// disk. The names below are the only "files" it can open.
constexpr const char* kInputName = "ntriage:cab-input";
constexpr const char* kOutputName = "ntriage:cab-output";

struct MemSystem;

struct MemFile {
    MemSystem* owner = nullptr;
    bool output = false;
    uint64_t pos = 0;
};

struct MemSystem {
    mspack_system sys{};  // first member: libmspack passes &sys back as `self`
    Bytes input;
    const CabSink* sink = nullptr;
    uint64_t limit = 0;
    uint64_t written = 0;
    bool overLimit = false;
    std::exception_ptr sinkError;
};

MemSystem* owner(mspack_system* self) { return reinterpret_cast<MemSystem*>(self); }
MemFile* memFile(mspack_file* f) { return reinterpret_cast<MemFile*>(f); }

mspack_file* memOpen(mspack_system* self, const char* name, int mode) {
    bool out;
    if (name && std::strcmp(name, kInputName) == 0 && mode == MSPACK_SYS_OPEN_READ) out = false;
    else if (name && std::strcmp(name, kOutputName) == 0 && mode == MSPACK_SYS_OPEN_WRITE) out = true;
    else return nullptr;  // multi-part cabinets (prev/next files) are not supported
    auto* f = new (std::nothrow) MemFile{owner(self), out, 0};
    return reinterpret_cast<mspack_file*>(f);
}

void memClose(mspack_file* f) { delete memFile(f); }

int memRead(mspack_file* file, void* buffer, int bytes) {
    MemFile* f = memFile(file);
    if (f->output || bytes < 0) return -1;
    Bytes in = f->owner->input;
    if (f->pos >= in.size()) return 0;
    uint64_t n = std::min<uint64_t>(static_cast<uint64_t>(bytes), in.size() - f->pos);
    std::memcpy(buffer, in.data() + f->pos, n);
    f->pos += n;
    return static_cast<int>(n);
}

int memWrite(mspack_file* file, void* buffer, int bytes) {
    MemFile* f = memFile(file);
    MemSystem* s = f->owner;
    if (!f->output || bytes < 0) return -1;
    if (static_cast<uint64_t>(bytes) > s->limit - s->written) {
        s->overLimit = true;
        return -1;
    }
    try {
        if (!(*s->sink)(static_cast<const uint8_t*>(buffer), static_cast<size_t>(bytes))) return -1;
    } catch (...) {
        s->sinkError = std::current_exception();
        return -1;
    }
    s->written += static_cast<uint64_t>(bytes);
    f->pos += static_cast<uint64_t>(bytes);
    return bytes;
}

int memSeek(mspack_file* file, off_t offset, int mode) {
    MemFile* f = memFile(file);
    uint64_t size = f->output ? f->pos : f->owner->input.size();
    int64_t base;
    switch (mode) {
        case MSPACK_SYS_SEEK_START: base = 0; break;
        case MSPACK_SYS_SEEK_CUR: base = static_cast<int64_t>(f->pos); break;
        case MSPACK_SYS_SEEK_END: base = static_cast<int64_t>(size); break;
        default: return -1;
    }
    int64_t target = base + static_cast<int64_t>(offset);
    if (target < 0 || static_cast<uint64_t>(target) > size) return -1;
    f->pos = static_cast<uint64_t>(target);
    return 0;
}

off_t memTell(mspack_file* file) { return static_cast<off_t>(memFile(file)->pos); }

void memMessage(mspack_file*, const char*, ...) {}  // libmspack's warnings: the error code says enough

void* memAlloc(mspack_system*, size_t bytes) { return std::malloc(bytes); }
void memFree(void* p) { std::free(p); }
void memCopy(void* src, void* dst, size_t bytes) { std::memmove(dst, src, bytes); }

std::string mspackError(int code) {
    switch (code) {
        case MSPACK_ERR_OK: return "no error";
        case MSPACK_ERR_ARGS: return "bad arguments";
        case MSPACK_ERR_OPEN: return "cannot open";
        case MSPACK_ERR_READ: return "read error (truncated cabinet?)";
        case MSPACK_ERR_WRITE: return "write error";
        case MSPACK_ERR_SEEK: return "seek error (offset outside the cabinet)";
        case MSPACK_ERR_NOMEMORY: return "out of memory";
        case MSPACK_ERR_SIGNATURE: return "not a cabinet (bad signature)";
        case MSPACK_ERR_DATAFORMAT: return "bad cabinet data format";
        case MSPACK_ERR_CHECKSUM: return "checksum mismatch";
        case MSPACK_ERR_CRUNCH: return "compression error";
        case MSPACK_ERR_DECRUNCH: return "decompression error (corrupt data)";
        default: return "libmspack error " + std::to_string(code);
    }
}

bool equalsIgnoreCase(const std::string& a, const std::string& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// An opened cabinet over `data`, closed on scope exit.
class OpenCab {
public:
    explicit OpenCab(Bytes data) {
        sys_.sys.open = memOpen;
        sys_.sys.close = memClose;
        sys_.sys.read = memRead;
        sys_.sys.write = memWrite;
        sys_.sys.seek = memSeek;
        sys_.sys.tell = memTell;
        sys_.sys.message = memMessage;
        sys_.sys.alloc = memAlloc;
        sys_.sys.free = memFree;
        sys_.sys.copy = memCopy;
        sys_.sys.null_ptr = nullptr;
        sys_.input = data;
        if (!looksLikeCab(data)) throw FormatError("not a cabinet file (no MSCF signature)");
        int selfTest = 0;
        MSPACK_SYS_SELFTEST(selfTest);
        if (selfTest != MSPACK_ERR_OK) throw FormatError("libmspack self-test failed: " + mspackError(selfTest));
        cabd_ = mspack_create_cab_decompressor(&sys_.sys);
        if (!cabd_) throw FormatError("cannot create a CAB decompressor");
        cab_ = cabd_->open(cabd_, kInputName);
        if (!cab_) {
            int err = cabd_->last_error(cabd_);
            mspack_destroy_cab_decompressor(cabd_);
            throw FormatError("cabinet: " + mspackError(err));
        }
    }
    ~OpenCab() {
        cabd_->close(cabd_, cab_);
        mspack_destroy_cab_decompressor(cabd_);
    }
    OpenCab(const OpenCab&) = delete;
    OpenCab& operator=(const OpenCab&) = delete;

    MemSystem& system() { return sys_; }
    mscab_decompressor* decompressor() { return cabd_; }
    mscabd_cabinet* cabinet() { return cab_; }

private:
    MemSystem sys_;
    mscab_decompressor* cabd_ = nullptr;
    mscabd_cabinet* cab_ = nullptr;
};

// Member list walks are bounded: a cabinet header holds a 16-bit file count.
constexpr size_t kMaxMembers = 65536;

}  // namespace

bool looksLikeCab(Bytes data) {
    return data.size() >= 4 && std::memcmp(data.data(), "MSCF", 4) == 0;
}

std::vector<CabMember> listCab(Bytes data) {
    OpenCab cab(data);
    std::vector<CabMember> out;
    for (mscabd_file* f = cab.cabinet()->files; f && out.size() < kMaxMembers; f = f->next)
        out.push_back({f->filename ? f->filename : "", f->length});
    return out;
}

void expandCab(Bytes data, uint64_t maxBytes, const std::string& member, const CabSink& sink) {
    OpenCab cab(data);
    mscabd_file* chosen = nullptr;
    mscabd_file* first = cab.cabinet()->files;
    size_t count = 0;
    for (mscabd_file* f = first; f && count < kMaxMembers; f = f->next, ++count)
        if (!chosen && !member.empty() && f->filename && equalsIgnoreCase(f->filename, member)) chosen = f;
    // A store's `.pd_` holds one file; its stored name need not match ours.
    if (!chosen && (member.empty() || count == 1)) chosen = first;
    if (!chosen) throw FormatError("cabinet has no member named '" + member + "'");
    if (chosen->length > maxBytes)
        throw FormatError("cabinet member '" + std::string(chosen->filename ? chosen->filename : "") + "' expands to " +
                          std::to_string(chosen->length) + " bytes, over the limit of " + std::to_string(maxBytes));
    MemSystem& sys = cab.system();
    sys.sink = &sink;
    sys.limit = std::min<uint64_t>(maxBytes, chosen->length);
    int err = cab.decompressor()->extract(cab.decompressor(), chosen, kOutputName);
    if (sys.sinkError) std::rethrow_exception(sys.sinkError);
    if (sys.overLimit) throw FormatError("cabinet member expands beyond its declared size");
    if (err != MSPACK_ERR_OK) throw FormatError("cabinet: " + mspackError(err));
    if (sys.written != chosen->length)
        throw FormatError("cabinet member expanded to " + std::to_string(sys.written) + " bytes, declared " +
                          std::to_string(chosen->length));
}

std::vector<uint8_t> expandCabToMemory(Bytes data, uint64_t maxBytes, const std::string& member) {
    std::vector<uint8_t> out;
    expandCab(data, maxBytes, member, [&](const uint8_t* p, size_t n) {
        out.insert(out.end(), p, p + n);
        return true;
    });
    return out;
}

}  // namespace nt::symsrv
