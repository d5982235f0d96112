#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (run from anywhere: `python3 fuzz/seeds.py`).

Seeds are the RFC 7644 examples below plus the request shapes the test suite already sends:
every `json!(...)` literal in the model's tests and the Entra/Okta end-to-end tests that reads
as a User/Group body, a PATCH request or a BulkRequest, and every string literal there that
reads as a filter. Rust expressions inside `json!` (variables, `format!`) become plausible
strings, so the shapes survive even where the values were computed.
"""

import hashlib
import json
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
SOURCES = [
    *sorted((ROOT / "crates/scim-model/tests").glob("*.rs")),
    ROOT / "crates/scim-model/src/bulk.rs",
    ROOT / "tests/tests/entra.rs",
    ROOT / "tests/tests/okta.rs",
    ROOT / "tests/tests/protocol.rs",
]
PER_TARGET = 60

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CONSTANTS = {
    "USER_SCHEMA": USER,
    "GROUP_SCHEMA": GROUP,
    "ENTERPRISE": ENT,
    "ENTERPRISE_USER_SCHEMA": ENT,
    "ENT": ENT,
    "ERROR_SCHEMA": "urn:ietf:params:scim:api:messages:2.0:Error",
    "LIST_SCHEMA": "urn:ietf:params:scim:api:messages:2.0:ListResponse",
    "BULK_REQUEST_SCHEMA": BULK,
    "PATCH_OP_SCHEMA": PATCH_OP,
}
PLACEHOLDER_ID = "2819c223-7f76-453a-919d-413861904646"

# --- RFC 7644 examples -------------------------------------------------------------------

# Crashes the fuzzer found (crates/scim-model/tests/fuzz_regressions.rs), kept as seeds.
REGRESSION_FILTERS = ["I eq \0"]

RFC_FILTERS = [  # §3.4.2.2
    'userName Eq "john"',
    'userName eq "bjensen"',
    'name.familyName co "O\'Malley"',
    'userName sw "J"',
    'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
    "title pr",
    'meta.lastModified gt "2011-05-13T04:42:34Z"',
    'meta.lastModified ge "2011-05-13T04:42:34Z"',
    'meta.lastModified lt "2011-05-13T04:42:34Z"',
    'meta.lastModified le "2011-05-13T04:42:34Z"',
    'title pr and userType eq "Employee"',
    'title pr or userType eq "Intern"',
    'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
    'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
    'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
    'userType eq "Employee" and (emails.type eq "work")',
    'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
    'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
    'externalId eq "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"',
    'displayName eq "Tour Guides"',
    'members[value eq "2819c223-7f76-453a-919d-413861904646"]',
    "active eq true",
    "active eq false and not (title pr)",
    "meta.version eq null",
    "x509Certificates.value pr",
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"',
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber gt 100",
]

RFC_PATCHES = [  # §3.5.2
    {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members",
         "value": [{"display": "Babs Jensen", "$ref": "https://example.com/v2/Users/" + PLACEHOLDER_ID,
                    "value": PLACEHOLDER_ID}]}]},
    {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}],
                                "nickname": "Babs"}}]},
    {"schemas": [PATCH_OP], "Operations": [
        {"op": "remove", "path": 'members[value eq "2819c223-7f76-...413861904646"]'}]},
    {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]},
    {"schemas": [PATCH_OP], "Operations": [
        {"op": "remove", "path": 'members[value eq "2819c223-7f76-453a-919d-413861904646"]'},
        {"op": "add", "path": "members",
         "value": [{"display": "James Smith", "$ref": "https://example.com/v2/Users/08e1d05d",
                    "value": "08e1d05d-121c-4561-8b96-473d93df9210"}]}]},
    {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "members",
         "value": [{"display": "Babs Jensen", "value": PLACEHOLDER_ID},
                   {"display": "James Smith", "value": "08e1d05d-121c-4561-8b96-473d93df9210"}]}]},
    {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": 'addresses[type eq "work"]',
         "value": {"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood",
                   "region": "CA", "postalCode": "91608", "country": "US",
                   "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": True}}]},
    {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": 'addresses[type eq "work"].streetAddress',
         "value": "1010 Broadway Ave"}]},
    {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "value": {"emails": [{"value": "bjensen@example.com", "type": "work", "primary": True},
                                               {"value": "babs@jensen.org", "type": "home"}],
                                    "nickname": "Babs"}}]},
    {"schemas": [PATCH_OP], "Operations": [
        {"op": "remove", "path": 'emails[type eq "work" and value ew "example.com"]'}]},
    {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": ENT + ":manager", "value": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}]},
]

RFC_RESOURCES = [  # RFC 7643 §8 / RFC 7644 §3.3
    {"schemas": [USER], "userName": "bjensen", "externalId": "bjensen",
     "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"}},
    {"schemas": [USER, ENT], "userName": "bjensen@example.com",
     "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
     "phoneNumbers": [{"value": "555-555-5555", "type": "work"}],
     "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                    "region": "CA", "postalCode": "91608", "country": "USA", "primary": True}],
     ENT: {"employeeNumber": "701984", "costCenter": "4130", "department": "Tour Operations",
           "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}},
    {"schemas": [GROUP], "displayName": "Tour Guides",
     "members": [{"value": PLACEHOLDER_ID, "display": "Babs Jensen"},
                 {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}]},
]

RFC_BULK = [  # §3.7
    {"schemas": [BULK], "failOnErrors": 1, "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "qwerty",
         "data": {"schemas": [USER], "userName": "Alice"}},
        {"method": "PUT", "path": "/Users/b7c14771-226c-4d05-8860-134711653041",
         "version": 'W/"3694e05e9dff591"',
         "data": {"schemas": [USER], "id": "b7c14771-226c-4d05-8860-134711653041", "userName": "Bob"}},
        {"method": "PATCH", "path": "/Users/5d8d29d3-342c-4b5f-8683-a3cb6763ffcc",
         "version": 'W/"edac3253e2c0ef2"',
         "data": {"schemas": [PATCH_OP], "Operations": [
             {"op": "remove", "path": "nickName"},
             {"op": "replace", "path": "userName", "value": "Dave"}]}},
        {"method": "DELETE", "path": "/Users/e9025315-6bea-44e1-899c-1e07454e468b",
         "version": 'W/"0ee8add0a938e1a"'}]},
    {"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "qwerty",
         "data": {"schemas": [GROUP], "displayName": "Group A",
                  "members": [{"type": "User", "value": "bulkId:ytrewq"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "ytrewq",
         "data": {"schemas": [USER], "userName": "Alice"}}]},
    {"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "qwerty",
         "data": {"schemas": [GROUP], "displayName": "Group A",
                  "members": [{"type": "Group", "value": "bulkId:ytrewq"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
         "data": {"schemas": [GROUP], "displayName": "Group B",
                  "members": [{"type": "Group", "value": "bulkId:qwerty"}]}}]},
    {"schemas": [BULK], "Operations": [
        {"method": "PATCH", "path": "/Groups/bulkId:grp", "data": {"schemas": [PATCH_OP], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": "bulkId:usr"}]}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "grp", "data": {"displayName": "G"}},
        {"method": "POST", "path": "/Users", "bulkId": "usr", "data": {"userName": "u"}},
        {"method": "DELETE", "path": "/Users/bulkId:missing"}]},
]

# --- json! extraction ----------------------------------------------------------------------

STRING = re.compile(r'r(#*)"(.*?)"\1|"((?:[^"\\]|\\.)*)"', re.S)


def rust_string(match):
    if match.group(2) is not None and match.group(0).startswith("r"):
        return match.group(2)
    body = match.group(3)
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "u" and body.startswith("{", i + 2) and "}" in body[i:]:
            end = body.index("}", i)
            out.append(chr(int(body[i + 3:end], 16)))
            i = end + 1
            continue
        if nxt == "\n":  # line continuation
            i += 2
            while i < len(body) and body[i] in " \t\n":
                i += 1
            continue
        out.append({"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(nxt, nxt))
        i += 2
    return "".join(out)


def balanced(text, start):
    """The text from `start` (just after an opening bracket) to its matching close."""
    depth, i = 1, start
    while i < len(text):
        m = STRING.match(text, i)
        if m and text[i] in 'r"' and (text[i] == '"' or m.group(0).startswith("r")):
            i = m.end()
            continue
        if text[i] in "([{":
            depth += 1
        elif text[i] in ")]}":
            depth -= 1
            if depth == 0:
                return text[start:i]
        i += 1
    return None


def format_string(inner):
    m = STRING.search(inner)
    if not m:
        return PLACEHOLDER_ID
    template = rust_string(m)
    return re.sub(r"\{([A-Za-z_]*)[^}]*\}", lambda g: CONSTANTS.get(g.group(1), "x"), template)


def to_json(expr):
    """Turns the inside of a `json!(...)` into JSON text, or None."""
    out, i = [], 0
    while i < len(expr):
        c = expr[i]
        if c.isspace():
            i += 1
            continue
        if c in "{}[]:,":
            out.append(c)
            i += 1
            continue
        m = STRING.match(expr, i)
        if m and (c == '"' or (c == "r" and m.group(0).startswith("r"))):
            out.append(json.dumps(rust_string(m)))
            i = m.end()
            continue
        m = re.match(r"-?\d+(\.\d+)?([eE][-+]?\d+)?(?![A-Za-z_])", expr[i:])
        if m:
            out.append(m.group(0))
            i += m.end()
            continue
        m = re.match(r"(true|false|null)\b", expr[i:])
        if m:
            out.append(m.group(0))
            i += m.end()
            continue
        # Any other Rust expression: up to the next `,` `}` `]` or `:` at depth 0.
        depth, j = 0, i
        while j < len(expr):
            ch = expr[j]
            sm = STRING.match(expr, j)
            if sm and (ch == '"' or (ch == "r" and sm.group(0).startswith("r"))):
                j = sm.end()
                continue
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif ch in ",:" and depth == 0:
                if ch == ":" and expr[j:j + 2] == "::":
                    j += 2
                    continue
                break
            j += 1
        word = expr[i:j].strip()
        if word in CONSTANTS:
            out.append(json.dumps(CONSTANTS[word]))
        elif word.startswith("format!"):
            out.append(json.dumps(format_string(word)))
        elif "manager_path" in word:
            out.append(json.dumps(ENT + ":manager"))
        elif word.startswith("json!("):
            inner = to_json(word[6:-1])
            out.append(inner if inner else "null")
        else:
            out.append(json.dumps(PLACEHOLDER_ID))
        i = j
    text = re.sub(r",\s*([}\]])", r"\1", "".join(out))
    try:
        return json.dumps(json.loads(text))
    except ValueError:
        return None


def json_literals(text):
    for m in re.finditer(r"json!\(", text):
        inner = balanced(text, m.end())
        if inner is None:
            continue
        converted = to_json(inner)
        if converted is not None:
            yield json.loads(converted)


FILTER_WORDS = re.compile(r"\b(eq|ne|co|sw|ew|gt|ge|lt|le)\b\s|\bpr\b", re.I)


def filter_literals(text):
    for m in STRING.finditer(text):
        s = rust_string(m)
        if "\n" in s or len(s) > 300 or not FILTER_WORDS.search(s):
            continue
        if s.startswith(("/", "http")) or "{}" in s:
            continue
        yield s


# --- classification ------------------------------------------------------------------------


def classify(value, seeds):
    if isinstance(value, list) and value and all(isinstance(v, dict) and "op" in v for v in value):
        seeds["patch"].append({"schemas": [PATCH_OP], "Operations": value})
        return
    if not isinstance(value, dict):
        return
    schemas = value.get("schemas") or []
    if BULK in schemas:
        seeds["bulk"].append(value)
    elif "Operations" in value or PATCH_OP in schemas:
        seeds["patch"].append(value)
    elif any(k in value for k in ("userName", "displayName", "members", "emails", "name")) or \
            USER in schemas or GROUP in schemas:
        seeds["resource"].append(value)


def cursor_fingerprint(resource_type, filter_text, sort_by, descending):
    h = 0xCBF29CE484222325
    for part in (resource_type.encode(), filter_text.strip().encode(),
                 sort_by.lower().encode(), bytes([1 if descending else 0])):
        for b in part + b"\xff":
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def cursor_seeds():
    # The shape in fuzz_targets/cursor.rs.
    fp = cursor_fingerprint("User", 'userName sw "b"', "userName", False)
    other = cursor_fingerprint("Group", "", "displayName", True)
    offsets = [0, 1, 99, 100, 0xFFFF, 1 << 40, (1 << 40) + 1, (1 << 64) - 1]
    seeds = [f"c1.{o:x}.{fp:016x}" for o in offsets]
    seeds += [f"c1.{o:x}.{other:016x}" for o in (0, 200)]
    seeds += ["", "c1.", "c1..", f"c1.10000000000000000.{fp:016x}", f"c1.-1.{fp:016x}",
              f"c1.+a.{fp:016x}", f"C1.a.{fp:016x}", "c1.a.", "c1.a.zz", f"c1.a.{fp:x}0",
              "c2.0.0", f"c1.{'f' * 64}.{fp:016x}", "c1.0.\u0000", "c1.é.0"]
    return seeds


def main():
    seeds = {"filter": REGRESSION_FILTERS + RFC_FILTERS, "patch": list(RFC_PATCHES), "resource": list(RFC_RESOURCES),
             "bulk": list(RFC_BULK), "cursor": cursor_seeds()}
    for source in SOURCES:
        text = source.read_text()
        for value in json_literals(text):
            classify(value, seeds)
        seeds["filter"].extend(filter_literals(text))
    for op in (op for body in seeds["patch"] for op in body.get("Operations", [])
               if isinstance(body, dict) and isinstance(body.get("Operations"), list)):
        if isinstance(op, dict) and isinstance(op.get("path"), str) and "[" in op["path"]:
            seeds["filter"].append(op["path"])
    for bulk in list(seeds["bulk"]):
        for op in bulk.get("Operations", []):
            if isinstance(op, dict) and isinstance(op.get("data"), dict):
                classify(op["data"], seeds)
    for target, values in seeds.items():
        directory = CORPUS / target
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        written = set()
        for value in values:
            data = (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)).encode()
            name = hashlib.sha1(data).hexdigest()
            if name in written:
                continue
            written.add(name)
            (directory / name).write_bytes(data)
            if len(written) >= PER_TARGET:
                break
        print(f"{target}: {len(written)} seeds")


if __name__ == "__main__":
    main()
