#!/usr/bin/env python3
"""Helpers for scripts/check-proto-compat.sh (standard library only).

  proto-compat.py strip IN OUT
      Copy an upstream CRI api.proto, removing what Debian 12's protoc 3.21
      cannot compile or what only matters to Go code generators: the gogoproto
      import, `option (gogoproto.*) = ...;` statements, and `(gogoproto.*)` /
      `debug_redact` entries inside field option lists.

  proto-compat.py compare UPSTREAM.pb OURS.pb
      Compare two FileDescriptorSets (protoc --descriptor_set_out, without
      source info) semantically. Both are decoded to protobuf text format,
      flattened to one "path: value" line per scalar, and diffed. Options
      blocks (go_package, deprecated, ...) are left out of the verdict, except
      `map_entry`, which tells a map<> field from a repeated message; other
      option differences are printed as notes. Exits 1 on any difference.

Decoding uses `protoc --decode=google.protobuf.FileDescriptorSet
google/protobuf/descriptor.proto` when descriptor.proto is on an include path
(libprotobuf-dev; extra dirs in $PROTOC_INCLUDE, colon-separated). Without it,
a small built-in decoder that knows descriptor.proto's field numbers produces
the same text. PROTO_COMPAT_DECODER=protoc|builtin forces one.
"""

import difflib
import os
import re
import shutil
import subprocess
import sys

# --------------------------------------------------------------------------
# strip


def strip_unsupported(text):
    # import "github.com/gogo/protobuf/gogoproto/gogo.proto";
    text = re.sub(r'(?m)^[ \t]*import[ \t]+(public[ \t]+|weak[ \t]+)?"[^"]*gogo\.proto"[ \t]*;[ \t]*\n?', "", text)
    # option (gogoproto.xxx) = value;
    text = re.sub(r"(?m)^[ \t]*option[ \t]*\([ \t]*gogoproto\.[^)]*\)[ \t]*=[^;]*;[ \t]*\n?", "", text)

    # Field option lists: `type name = N [a = b, c = d];`
    def fix_list(m):
        entries = [e.strip() for e in m.group(1).split(",")]
        keep = [
            e
            for e in entries
            if e
            and not re.match(r"^\(\s*gogoproto\.", e)
            and not re.match(r"^debug_redact\s*=", e)
        ]
        if not keep:
            return m.group(2)
        return " [" + ", ".join(keep) + "]" + m.group(2)

    text = re.sub(r"\s*\[([^\[\]]*)\](\s*;)", fix_list, text)
    return text


# --------------------------------------------------------------------------
# built-in decoder for google.protobuf.FileDescriptorSet

LABELS = {1: "LABEL_OPTIONAL", 2: "LABEL_REQUIRED", 3: "LABEL_REPEATED"}
TYPES = {
    1: "TYPE_DOUBLE", 2: "TYPE_FLOAT", 3: "TYPE_INT64", 4: "TYPE_UINT64",
    5: "TYPE_INT32", 6: "TYPE_FIXED64", 7: "TYPE_FIXED32", 8: "TYPE_BOOL",
    9: "TYPE_STRING", 10: "TYPE_GROUP", 11: "TYPE_MESSAGE", 12: "TYPE_BYTES",
    13: "TYPE_UINT32", 14: "TYPE_ENUM", 15: "TYPE_SFIXED32", 16: "TYPE_SFIXED64",
    17: "TYPE_SINT32", 18: "TYPE_SINT64",
}
CTYPES = {0: "STRING", 1: "CORD", 2: "STRING_PIECE"}
JSTYPES = {0: "JS_NORMAL", 1: "JS_STRING", 2: "JS_NUMBER"}
OPTIMIZE = {1: "SPEED", 2: "CODE_SIZE", 3: "LITE_RUNTIME"}
IDEMPOTENCY = {0: "IDEMPOTENCY_UNKNOWN", 1: "NO_SIDE_EFFECTS", 2: "IDEMPOTENT"}

# message name -> {field number: (field name, kind)}; kind is "str", "int32",
# "int64", "uint", "bool", a dict (enum names) or another message name.
SCHEMA = {
    "FileDescriptorSet": {1: ("file", "FileDescriptorProto")},
    "FileDescriptorProto": {
        1: ("name", "str"), 2: ("package", "str"), 3: ("dependency", "str"),
        4: ("message_type", "DescriptorProto"), 5: ("enum_type", "EnumDescriptorProto"),
        6: ("service", "ServiceDescriptorProto"), 7: ("extension", "FieldDescriptorProto"),
        8: ("options", "FileOptions"), 10: ("public_dependency", "int32"),
        11: ("weak_dependency", "int32"), 12: ("syntax", "str"),
    },
    "DescriptorProto": {
        1: ("name", "str"), 2: ("field", "FieldDescriptorProto"),
        3: ("nested_type", "DescriptorProto"), 4: ("enum_type", "EnumDescriptorProto"),
        5: ("extension_range", "ExtensionRange"), 6: ("extension", "FieldDescriptorProto"),
        7: ("options", "MessageOptions"), 8: ("oneof_decl", "OneofDescriptorProto"),
        9: ("reserved_range", "ReservedRange"), 10: ("reserved_name", "str"),
    },
    "ExtensionRange": {1: ("start", "int32"), 2: ("end", "int32"), 3: ("options", "Opaque")},
    "ReservedRange": {1: ("start", "int32"), 2: ("end", "int32")},
    "FieldDescriptorProto": {
        1: ("name", "str"), 2: ("extendee", "str"), 3: ("number", "int32"),
        4: ("label", LABELS), 5: ("type", TYPES), 6: ("type_name", "str"),
        7: ("default_value", "str"), 8: ("options", "FieldOptions"),
        9: ("oneof_index", "int32"), 10: ("json_name", "str"),
        17: ("proto3_optional", "bool"),
    },
    "OneofDescriptorProto": {1: ("name", "str"), 2: ("options", "Opaque")},
    "EnumDescriptorProto": {
        1: ("name", "str"), 2: ("value", "EnumValueDescriptorProto"),
        3: ("options", "EnumOptions"), 4: ("reserved_range", "ReservedRange"),
        5: ("reserved_name", "str"),
    },
    "EnumValueDescriptorProto": {1: ("name", "str"), 2: ("number", "int32"), 3: ("options", "EnumValueOptions")},
    "ServiceDescriptorProto": {1: ("name", "str"), 2: ("method", "MethodDescriptorProto"), 3: ("options", "ServiceOptions")},
    "MethodDescriptorProto": {
        1: ("name", "str"), 2: ("input_type", "str"), 3: ("output_type", "str"),
        4: ("options", "MethodOptions"), 5: ("client_streaming", "bool"),
        6: ("server_streaming", "bool"),
    },
    "FileOptions": {
        1: ("java_package", "str"), 8: ("java_outer_classname", "str"),
        9: ("optimize_for", OPTIMIZE), 10: ("java_multiple_files", "bool"),
        11: ("go_package", "str"), 23: ("deprecated", "bool"),
        31: ("cc_enable_arenas", "bool"),
    },
    "MessageOptions": {
        1: ("message_set_wire_format", "bool"), 2: ("no_standard_descriptor_accessor", "bool"),
        3: ("deprecated", "bool"), 7: ("map_entry", "bool"),
    },
    "FieldOptions": {
        1: ("ctype", CTYPES), 2: ("packed", "bool"), 3: ("deprecated", "bool"),
        5: ("lazy", "bool"), 6: ("jstype", JSTYPES), 10: ("weak", "bool"),
        15: ("unverified_lazy", "bool"), 16: ("debug_redact", "bool"),
    },
    "EnumOptions": {2: ("allow_alias", "bool"), 3: ("deprecated", "bool")},
    "EnumValueOptions": {1: ("deprecated", "bool")},
    "ServiceOptions": {33: ("deprecated", "bool")},
    "MethodOptions": {33: ("deprecated", "bool"), 34: ("idempotency_level", IDEMPOTENCY)},
    "Opaque": {},
}


def _varint(buf, i):
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _cescape(data):
    # Same escaping as protobuf's CEscape, which protoc's text printer uses.
    out = []
    for b in data:
        c = chr(b)
        if c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif c in "\"'\\":
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append("\\%03o" % b)
    return '"' + "".join(out) + '"'


def _decode(buf, msg, indent, out):
    schema = SCHEMA[msg]
    fields = []  # (number, seq, lines)
    i = seq = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            raw, i = _varint(buf, i)
        elif wt == 1:
            raw, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wt == 5:
            raw, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        elif wt == 2:
            n, i = _varint(buf, i)
            raw, i = buf[i:i + n], i + n
        else:
            raise ValueError("unsupported wire type %d in %s" % (wt, msg))
        pad = "  " * indent
        lines = []
        if num not in schema:
            # Unknown field: printed like protoc does for unknown fields.
            if wt == 2:
                lines.append("%s%d: %s" % (pad, num, _cescape(raw)))
            elif wt == 1:
                lines.append("%s%d: 0x%016x" % (pad, num, raw))
            elif wt == 5:
                lines.append("%s%d: 0x%08x" % (pad, num, raw))
            else:
                lines.append("%s%d: %d" % (pad, num, raw))
        else:
            name, kind = schema[num]
            if isinstance(kind, dict):
                lines.append("%s%s: %s" % (pad, name, kind.get(raw, str(raw))))
            elif kind == "str":
                lines.append("%s%s: %s" % (pad, name, _cescape(raw)))
            elif kind in ("int32", "int64"):
                lines.append("%s%s: %d" % (pad, name, _signed64(raw)))
            elif kind == "uint":
                lines.append("%s%s: %d" % (pad, name, raw))
            elif kind == "bool":
                lines.append("%s%s: %s" % (pad, name, "true" if raw else "false"))
            else:
                lines.append("%s%s {" % (pad, name))
                _decode(raw, kind, indent + 1, lines)
                lines.append("%s}" % pad)
        fields.append((num, seq, lines))
        seq += 1
    # protoc prints known fields by field number (repeated ones in order),
    # then unknown fields; a stable sort by number matches for our schema.
    known = [f for f in fields if f[0] in schema]
    unknown = [f for f in fields if f[0] not in schema]
    for _, _, lines in sorted(known, key=lambda f: (f[0], f[1])) + unknown:
        out.extend(lines)


def decode_builtin(path):
    with open(path, "rb") as f:
        buf = f.read()
    out = []
    _decode(buf, "FileDescriptorSet", 0, out)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# protoc decoder


def find_descriptor_include():
    dirs = [d for d in os.environ.get("PROTOC_INCLUDE", "").split(":") if d]
    protoc = shutil.which("protoc")
    if protoc:
        dirs.append(os.path.join(os.path.dirname(os.path.realpath(protoc)), "..", "include"))
    dirs += ["/usr/include", "/usr/local/include"]
    for d in dirs:
        if os.path.isfile(os.path.join(d, "google", "protobuf", "descriptor.proto")):
            return d
    return None


def decode_protoc(path, include):
    with open(path, "rb") as f:
        res = subprocess.run(
            ["protoc", "-I" + include, "--decode=google.protobuf.FileDescriptorSet",
             "google/protobuf/descriptor.proto"],
            stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if res.returncode != 0:
        sys.stderr.write(res.stderr.decode(errors="replace"))
        raise SystemExit("proto-compat: protoc --decode failed for %s" % path)
    return res.stdout.decode()


def decode(path):
    mode = os.environ.get("PROTO_COMPAT_DECODER", "")
    include = None if mode == "builtin" else find_descriptor_include()
    if mode == "protoc" and include is None:
        raise SystemExit("proto-compat: google/protobuf/descriptor.proto not found (install libprotobuf-dev or set PROTOC_INCLUDE)")
    if include:
        return decode_protoc(path, include), "protoc --decode (descriptor.proto from %s)" % os.path.normpath(include)
    return decode_builtin(path), "built-in descriptor decoder (no descriptor.proto found)"


# --------------------------------------------------------------------------
# text format -> tree -> flat lines


def parse_text(text):
    root = []
    stack = [root]
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line == "}":
            stack.pop()
        elif line.endswith("{"):
            node = (line[:-1].strip(), [])
            stack[-1].append(node)
            stack.append(node[1])
        else:
            key, _, value = line.partition(":")
            stack[-1].append((key.strip(), value.strip()))
    if len(stack) != 1:
        raise SystemExit("proto-compat: unbalanced text format")
    return root


def _label(key, children, counters):
    for k, v in children:
        if k == "name" and isinstance(v, str):
            return "%s(%s)" % (key, v.strip('"'))
    counters[key] = counters.get(key, -1) + 1
    return "%s[%d]" % (key, counters[key])


def flatten(nodes, path=""):
    out = []
    counters = {}
    for key, val in nodes:
        if isinstance(val, list):
            out += flatten(val, path + _label(key, val, counters) + "/")
        else:
            out.append("%s%s: %s" % (path, key, val))
    return out


def is_option_line(line):
    parts = line.split("/")
    in_options = any(re.match(r"^options\[\d+\]$", p) for p in parts[:-1])
    return in_options and not parts[-1].startswith("map_entry:")


def summarize(tree, title):
    msgs = enums = 0
    services = []

    def walk_msg(children):
        nonlocal msgs, enums
        opts = [v for k, v in children if k == "options"]
        if any(("map_entry", "true") in o for o in opts):
            return  # synthesized map<> entry type, not a declared message
        msgs += 1
        for k, v in children:
            if k == "nested_type":
                walk_msg(v)
            elif k == "enum_type":
                enums += 1

    for _, f in [n for n in tree if n[0] == "file"]:
        for k, v in f:
            if k == "message_type":
                walk_msg(v)
            elif k == "enum_type":
                enums += 1
            elif k == "service":
                name = [x for kk, x in v if kk == "name"][0].strip('"')
                methods = [m for kk, m in v if kk == "method"]
                streaming = sum(1 for m in methods if ("server_streaming", "true") in m)
                services.append("%s %d RPCs (%d server-streaming)" % (name, len(methods), streaming))
    print("%s: %d messages (nested included, map entries excluded), %d enums; %s"
          % (title, msgs, enums, "; ".join(services)))


def compare(upstream_pb, ours_pb):
    up_text, how = decode(upstream_pb)
    our_text, _ = decode(ours_pb)
    print("decoder: " + how)
    up_tree, our_tree = parse_text(up_text), parse_text(our_text)
    summarize(up_tree, "upstream")
    summarize(our_tree, "cricket ")
    up_all, our_all = flatten(up_tree), flatten(our_tree)

    up_lines = [l for l in up_all if not is_option_line(l)]
    our_lines = [l for l in our_all if not is_option_line(l)]
    diff = list(difflib.unified_diff(up_lines, our_lines, "upstream", "cricket", n=0, lineterm=""))

    def opts(lines):
        return [l for l in lines if is_option_line(l) and "/go_package:" not in l]

    opt_diff = list(difflib.unified_diff(opts(up_all), opts(our_all), "upstream options", "cricket options", n=0, lineterm=""))
    if opt_diff:
        print("note: option differences (not part of the verdict):")
        for l in opt_diff:
            print("  " + l)
    if diff:
        print("DIFFERENT: %d differing descriptor lines:" % sum(1 for l in diff if l[:1] in "+-" and l[:3] not in ("---", "+++")))
        for l in diff:
            print(l)
        return 1
    print("identical: %d descriptor lines compared (options excluded except map_entry)" % len(up_lines))
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "strip":
        with open(argv[2], encoding="utf-8") as f:
            text = f.read()
        with open(argv[3], "w", encoding="utf-8") as f:
            f.write(strip_unsupported(text))
        return 0
    if len(argv) == 4 and argv[1] == "compare":
        return compare(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "decode":  # debugging aid
        sys.stdout.write(decode(argv[2])[0])
        return 0
    sys.stderr.write("usage: proto-compat.py strip IN OUT | compare UPSTREAM.pb OURS.pb | decode SET.pb\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
