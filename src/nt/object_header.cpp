// _OBJECT_HEADER: the header before every object body, its (encoded) type
// index, and the optional headers InfoMask says precede it.
#include <array>

#include "nt/objects.h"

namespace nt {

namespace {

// Optional headers by InfoMask bit. Header i sits below the object header at
// the summed sizes of every present header with a bit <= i
// (ObpInfoMaskToOffset), so bit 0 is closest to the object header.
constexpr std::array<std::string_view, 8> kOptionalHeaders = {
    "_OBJECT_HEADER_CREATOR_INFO", "_OBJECT_HEADER_NAME_INFO",  "_OBJECT_HEADER_HANDLE_INFO",
    "_OBJECT_HEADER_QUOTA_INFO",   "_OBJECT_HEADER_PROCESS_INFO", "_OBJECT_HEADER_AUDIT_INFO",
    "_OBJECT_HEADER_EXTENDED_INFO", "_OBJECT_HEADER_PADDING_INFO"};

// Windows 10 (build 10240) introduced the ObHeaderCookie encoding of TypeIndex.
constexpr uint32_t kFirstEncodedTypeIndexBuild = 10240;

}  // namespace

std::optional<ObjectHeaderInfo> Kernel::objectHeader(uint64_t object) const {
    auto bodyOff = layout_.offset("_OBJECT_HEADER", "Body");
    if (!bodyOff || object < *bodyOff) return std::nullopt;
    ObjectHeaderInfo o;
    o.object = object;
    o.header = object - *bodyOff;
    StructView h = view("_OBJECT_HEADER", o.header);
    o.pointerCount = h.s("PointerCount");
    o.handleCount = h.s("HandleCount");
    if (auto m = h.u("InfoMask")) o.infoMask = static_cast<uint8_t>(*m);
    if (auto f = h.u("Flags")) o.flags = static_cast<uint8_t>(*f);

    if (h.has("TypeIndex")) {
        if (auto s = h.u("TypeIndex")) {
            o.storedTypeIndex = static_cast<uint8_t>(*s);
            if (auto cookie = headerCookie()) {
                o.typeIndex = static_cast<uint8_t>(*s ^ *cookie ^ ((o.header >> 8) & 0xff));
            } else if (info_.buildNumber && info_.buildNumber < kFirstEncodedTypeIndexBuild) {
                o.typeIndex = o.storedTypeIndex;  // stored in clear before Windows 10
            }
        }
        if (o.typeIndex) {
            if (auto table = symbolAddress("ObTypeIndexTable")) {
                auto t = mem_.readPointer(*table + uint64_t{*o.typeIndex} * pointerSize(), pointerSize());
                if (t && *t) o.typeObject = t;
            }
        }
    } else if (h.has("Type")) {
        o.typeObject = h.ptr("Type");  // before Windows 7 the header points at its type
        o.oldForm = true;
    }
    if (o.typeObject) o.typeName = view("_OBJECT_TYPE", *o.typeObject).unicodeString("Name");

    if (o.infoMask) {
        uint64_t below = 0;
        for (unsigned bit = 0; bit < kOptionalHeaders.size(); ++bit) {
            if (!(*o.infoMask & (1u << bit))) continue;
            auto size = layout_.size(kOptionalHeaders[bit]);
            if (!size) break;  // later headers cannot be placed without this one's size
            below += *size;
            if (below > o.header) break;
            o.optionalHeaders.push_back({static_cast<uint8_t>(1u << bit), std::string(kOptionalHeaders[bit]), o.header - below});
        }
    }
    for (const auto& opt : o.optionalHeaders) {
        if (opt.bit != 0x2) continue;
        StructView n = view("_OBJECT_HEADER_NAME_INFO", opt.address);
        o.name = n.unicodeString("Name");
        o.directory = n.ptr("Directory");
    }
    return o;
}

}  // namespace nt
