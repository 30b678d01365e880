#!/usr/bin/env python3
"""Generate src/nt/builtin_types_x64.inc: per-build x64 kernel layouts of the
fields ntriage's kernel commands read (src/nt/builtin_fields.txt), taken from
Volatility ISF tables of ntkrnlmp (facts: offsets, sizes, bit positions).

Usage: scripts/gen_builtin_layouts.py BUILD:<isf.json[.xz]> [...] > src/nt/builtin_types_x64.inc
       scripts/gen_builtin_layouts.py --corpus <dir of jpcert-isf> > src/nt/builtin_types_x64.inc

One table per build number; when several ISF files share a build, the first
one given is used and every other one must agree on every generated row (the
script fails otherwise), which is what makes "one table per build" safe.
"""
import json
import lzma
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIELDS = os.path.join(HERE, "..", "src", "nt", "builtin_fields.txt")

BASE_NAMES = {
    "char": "Char", "unsigned char": "UChar", "short": "Int2B", "unsigned short": "Uint2B",
    "int": "Int4B", "long": "Int4B", "unsigned int": "Uint4B", "unsigned long": "Uint4B",
    "HRESULT": "Int4B", "long long": "Int8B", "unsigned long long": "Uint8B", "wchar": "Wchar",
    "double": "Float8", "f32": "Float4", "void": "Void", "bool": "UChar",
}


def type_text(t):
    """The type as WinDbg's dt prints it ("Ptr64 _KTHREAD", "[4] _KWAIT_BLOCK")."""
    kind = t["kind"]
    if kind == "base":
        return BASE_NAMES[t["name"]]
    if kind == "pointer":
        return "Ptr64 " + type_text(t["subtype"])
    if kind == "array":
        return "[%d] %s" % (t["count"], type_text(t["subtype"]))
    if kind in ("struct", "union", "class", "enum"):
        return t["name"]
    if kind == "function":
        return "Void"
    raise ValueError("unknown ISF type kind %r" % kind)


def named_target(t):
    """The struct/union a path may descend into through this field's type."""
    while t["kind"] in ("array",):
        t = t["subtype"]
    if t["kind"] in ("struct", "union", "class"):
        return t["name"]
    return None


# Small structures taken whole wherever they appear: the commands read their
# members through paths the list does not spell out (Flink/Blink, Buffer).
WHOLE = {"_LIST_ENTRY", "_SINGLE_LIST_ENTRY", "_UNICODE_STRING", "_LARGE_INTEGER", "_ULARGE_INTEGER",
         "_CLIENT_ID", "_EX_FAST_REF", "_EX_PUSH_LOCK", "_EX_RUNDOWN_REF", "_RTL_AVL_TREE",
         "_RTL_BALANCED_NODE", "_GROUP_AFFINITY", "_SE_AUDIT_PROCESS_CREATION_INFO",
         "_OBJECT_NAME_INFORMATION"}


def embedded(t):
    """Struct/union names laid out inside a field of this type (not behind pointers)."""
    while t["kind"] == "array":
        t = t["subtype"]
    return t["name"] if t["kind"] in ("struct", "union", "class") else None


def collect(isf, wanted):
    """{struct: {"size": n, "kind": k, "rows": {name: (offset, text, bitpos, bitlen)}}} and enums."""
    ut = isf["user_types"]
    out = {}

    def struct(name):
        if name not in out:
            u = ut[name]
            out[name] = {"size": u["size"], "kind": u["kind"], "rows": {}}
        return out[name]

    for type_name, path in wanted:
        if type_name not in ut:
            continue
        if path == "#size":
            struct(type_name)
            continue
        cur = type_name
        for part in path.split("."):
            field = part.split("[")[0]
            u = ut.get(cur)
            if u is None or field not in u["fields"]:
                break
            f = u["fields"][field]
            t = f["type"]
            if t["kind"] == "bitfield":
                row = (f["offset"], type_text(t["type"]), t["bit_position"], t["bit_length"])
            else:
                row = (f["offset"], type_text(t), 0, 0)
            struct(cur)["rows"][field] = row
            nxt = named_target(t) if t["kind"] != "bitfield" else None
            if nxt is None:
                break
            struct(nxt)  # a nested struct is complete enough to be laid out by name and size
            cur = nxt
    # Every structure a row embeds needs its size (arrays, nested paths);
    # the small ones come whole, and their members' types in turn.
    pending = [n for n in out] + [n for n in WHOLE if n in ut]
    while pending:
        name = pending.pop()
        s = struct(name)
        if name in WHOLE:
            for fname, f in ut[name]["fields"].items():
                t = f["type"]
                if t["kind"] == "bitfield":
                    s["rows"][fname] = (f["offset"], type_text(t["type"]), t["bit_position"], t["bit_length"])
                else:
                    s["rows"][fname] = (f["offset"], type_text(t), 0, 0)
        for fname, f in list(ut[name]["fields"].items()):
            if fname not in s["rows"] or f["type"]["kind"] == "bitfield":
                continue
            inner = embedded(f["type"])
            if inner and inner in ut and inner not in out:
                struct(inner)
                pending.append(inner)
    enums = {}
    for e in ("_KTHREAD_STATE", "_KWAIT_REASON"):
        if e in isf.get("enums", {}):
            enums[e] = sorted(isf["enums"][e]["constants"].items(), key=lambda kv: kv[1])
    return out, enums


def cpp_table(build, structs, enums, source):
    lines = []
    ident = "x64Build%d" % build
    lines.append("// Build %d, from %s" % (build, source))
    lines.append("const BuiltinTable& %s() {" % ident)
    lines.append("    static const BuiltinTable table = {8, {")
    for name in sorted(structs):
        s = structs[name]
        rows = sorted(s["rows"].items(), key=lambda kv: (kv[1][0], kv[0]))
        union = ", true" if s["kind"] == "union" else ""
        lines.append('        {"%s", 0x%x, {' % (name, s["size"]))
        for fname, (off, text, bp, bl) in rows:
            bits = ", %d, %d" % (bp, bl) if bl else ""
            lines.append('            {0x%x, "%s", "%s"%s},' % (off, fname, text, bits))
        lines.append("        }%s}," % union)
    lines.append("    }, {")
    for name in sorted(enums):
        vals = ", ".join('{"%s", %d}' % (n, v) for n, v in enums[name])
        lines.append('        {"%s", {%s}},' % (name, vals))
    lines.append("    }};")
    lines.append("    return table;")
    lines.append("}")
    return ident, "\n".join(lines)


# The ISF files carry no build number; these are the builds MANIFEST.md gives
# for the JPCERT tables (ntoskrnl version per GUID).
CORPUS_BUILDS = [
    (7601, "339E74133576439CBCDF7E0229DA3773-1.json.xz"),
    (9600, "22597D0B40394E23936F6A24C6C52D5B-1.json.xz"),
    (14393, "517E128F7B7C4EA79491DE6B9B9CE190-1.json.xz"),
    (17763, "A1E1C9A90091DA9805D0EBA0470BEC85-1.json.xz"),
    (18362, "11BC9A513F1140CA359ECDF50F0122C1-1.json.xz"),
    (19041, "5278AFF86C341677D7D7835C85B7B844-1.json.xz"),
    (19041, "FC57F1C841C2C3F793D57AC134DC0EFA-1.json.xz"),
    (19041, "3FCC539FF307DD2D9C509206D352B9AA-1.json.xz"),
    (20348, "E113513ECFAD6E8858567EEC9E6E285F-1.json.xz"),
    (22000, "FDCBA251C28BD5935DB2F7AEE341482A-1.json.xz"),
]


def main(argv):
    if len(argv) == 3 and argv[1] == "--corpus":
        d = os.path.join(argv[2], "ntkrnlmp.pdb")
        argv = [argv[0]] + ["%d:%s" % (b, os.path.join(d, f)) for b, f in CORPUS_BUILDS]
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    wanted = []
    with open(FIELDS) as fh:
        for line in fh:
            line = line.split("//")[0].strip()
            if not line:
                continue
            if "#" in line:
                wanted.append((line.split("#")[0], "#size"))
            else:
                t, _, p = line.partition(".")
                wanted.append((t, p))
    per_build = {}
    for arg in argv[1:]:
        build_s, _, path = arg.partition(":")
        build = int(build_s)
        with lzma.open(path) if path.endswith(".xz") else open(path, "rb") as fh:
            isf = json.load(fh)
        structs, enums = collect(isf, wanted)
        source = os.path.basename(os.path.dirname(path)) + "/" + os.path.basename(path)
        if build in per_build:
            first = per_build[build]
            if first[0] != structs or first[1] != enums:
                diff = sorted(
                    "%s.%s" % (s, f)
                    for s in set(first[0]) | set(structs)
                    for f in set(first[0].get(s, {}).get("rows", {})) | set(structs.get(s, {}).get("rows", {}))
                    if first[0].get(s, {}).get("rows", {}).get(f) != structs.get(s, {}).get("rows", {}).get(f))
                sys.stderr.write("build %d: %s disagrees with %s on %s\n" % (build, source, first[2], diff))
                return 1
            per_build[build][3].append(source)
        else:
            per_build[build] = (structs, enums, source, [])
    out = ["// Generated by scripts/gen_builtin_layouts.py from Volatility ISF tables of",
           "// ntkrnlmp (JPCERTCC/Windows-Symbol-Tables, ../shared/corpus/jpcert-isf).",
           "// Do not edit: change src/nt/builtin_fields.txt and regenerate.",
           "// Rows are the fields listed there (and the path steps leading to them).", ""]
    idents = []
    for build in sorted(per_build):
        structs, enums, source, also = per_build[build]
        if also:
            source += " (equal rows in " + ", ".join(also) + ")"
        ident, text = cpp_table(build, structs, enums, source)
        idents.append((build, ident))
        out.append(text)
        out.append("")
    out.append("const std::vector<std::pair<uint32_t, const BuiltinTable& (*)()>>& x64Tables() {")
    out.append("    static const std::vector<std::pair<uint32_t, const BuiltinTable& (*)()>> tables = {")
    for build, ident in idents:
        out.append("        {%d, &%s}," % (build, ident))
    out.append("    };")
    out.append("    return tables;")
    out.append("}")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
