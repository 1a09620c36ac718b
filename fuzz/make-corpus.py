#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (run from anywhere).

Seeds: the repository's own files (tests/funding, examples, the golden annex, the shipped reform),
small generated CSV/XLSX tables, identifiers and numbers valid and invalid, and the hostile inputs
of issue 10 in small form. Regenerating is deterministic; the result is committed (~1 MB at most).
Needs PyYAML (Debian: python3-yaml) to cut the test files' cases into case files and annexes.
"""

import hashlib
import io
import json
import pathlib
import shutil
import zipfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"

# Hostile text inputs shared by the YAML targets (issue 10, small form).
DEEP = "[" * 300 + "]" * 300  # nesting (issue item 5): 40 000 took 3.8 s; the fuzzer grows it
HOSTILE_YAML = {
    "deep-flow": DEEP,
    "deep-flow-unclosed": "cpts: x\ncontract: " + "[" * 400,
    "deep-block": "".join("  " * i + "- \n" for i in range(300)),
    "deep-map": "a: {" * 200 + "}" * 200,
    "billion-laughs": "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n",
    "control-chars": "cpts: \"\\e]52;c;SGVsbG8=\\a\\e[31m\\0\"\ncontract: {signed: 2021-01-01, population: 1}\n",
    "duplicate-keys": "cpts: a\ncpts: b\ncontract: {signed: 2021-01-01, signed: 2022-01-01}\n",
    "tabs-and-cr": "cpts:\tx\r\ncontract:\r\n\tsigned: 2021-01-01\r\n",
}
UTF16_BOM = b"\xff\xfe" + "cpts: x\n".encode("utf-16-le")


def name(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:16]


def put(target: str, data, label: str = "") -> None:
    if isinstance(data, str):
        data = data.encode()
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / (label or name(data))).write_bytes(data)


def dump(v) -> str:
    return yaml.safe_dump(v, allow_unicode=True, sort_keys=False, width=200)


def test_files():
    for f in sorted((ROOT / "tests" / "funding").glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        tests = doc.get("tests", []) if isinstance(doc, dict) else doc
        yield f, tests


def case_files():
    """Every test's input as a case file (merge keys resolved by the YAML loader)."""
    seen = set()
    for _, tests in test_files():
        for t in tests:
            inp = t.get("input")
            if isinstance(inp, dict) and "contract" in inp:
                text = dump(inp)
                if text not in seen:
                    seen.add(text)
                    yield inp


def hostile_case(population=38000, fixed="20000", variable="10000", value="70"):
    return (
        "cpts: CPTS hostile\ncontract:\n  signed: 2021-01-01\n"
        f"  population: {population}\n  missions:\n"
        f"    - {{code: acces_soins, start: 2021-01-01, fixed: {fixed}, variable: {variable},\n"
        "       objectives: [{indicator: patients_sans_mt_aides, baseline: 0, target: 100, weight: 100}]}\n"
        f"years:\n  1: {{values: {{patients_sans_mt_aides: {value}}}}}\n"
    )


def seed_yaml_targets() -> None:
    # case_file: the test files themselves (`funding test`), their cases, the examples.
    for f, _ in test_files():
        put("case_file", f.read_bytes(), f.stem)
    for i, case in enumerate(case_files()):
        put("case_file", dump(case), f"case-{i:02}")
    for f in sorted((ROOT / "examples").glob("*.yaml")):
        put("case_file", f.read_bytes(), f.stem)
    put("case_file", hostile_case(population=9223372036854775807), "population-i64-max")
    put("case_file", hostile_case(fixed="0x10", variable="0o17"), "amount-hex-octal")
    put("case_file", hostile_case(fixed="92233720368547758", variable="1"), "amount-overflow-sum")
    put("case_file", hostile_case(value="-5"), "negative-value")
    put("case_file", hostile_case(value="9223372036854775807"), "value-i64-max")
    put("case_file", hostile_case(value=".nan"), "value-nan")
    put("case_file", hostile_case(value="1e308"), "value-1e308")
    for k, v in HOSTILE_YAML.items():
        put("case_file", v, k)
    put("case_file", UTF16_BOM, "utf16-bom")

    # annex: the golden annex, the contract sections of the cases (no amendments, no termination).
    put("annex", (ROOT / "tests" / "reports" / "golden-annex.yaml").read_bytes(), "golden-annex")
    amendments = []
    for i, case in enumerate(case_files()):
        contract = dict(case["contract"])
        amendments.extend(contract.pop("amendments", []) or [])
        contract.pop("terminated", None)
        put("annex", dump(contract), f"annex-{i:02}")
    put("annex", "signed: 2021-01-01\npopulation: 9223372036854775807\nmissions: []\n", "population-i64-max")
    put("annex", "signed: 2021-01-01\npopulation: 38000\nmissions:\n  - {code: acces_soins, fixed: 0x10}\n", "amount-hex")
    put("annex", "signed: 2021-01-01\nterminated: 2022-01-01\npopulation: 38000\nmissions: []\n", "terminated")
    for k in ("deep-flow", "deep-map", "control-chars"):
        put("annex", HOSTILE_YAML[k], k)

    # amendment: the amendments of the test files, moved after the golden annex's signature.
    for i, a in enumerate(amendments):
        put("amendment", dump(a), f"amendment-{i:02}")
    put("amendment", "effective: 2021-06-01\npopulation: 45000\nreason: rattachement d'une commune\n", "cli")
    put("amendment", "effective: 2019-06-01\npopulation: 45000\n", "before-signature")
    put("amendment", "effective: 2022-01-01\nmissions: [{code: acces_soins, fixed: 92233720368547758}]\n", "huge-fixed")
    put("amendment", "effective: 2022-01-01\npopulation: -1\n", "negative-population")
    put("amendment", "effective: 2022-01-01\ntier_at_boundary: upper\nmissions: [{code: qualite, variable: 5000}]\n", "new-mission")
    put("amendment", HOSTILE_YAML["deep-flow"], "deep-flow")

    # reform: the shipped reform, cut down, and not-a-reform files (issue item 11).
    reforms = sorted((ROOT / "rules" / "aci" / "reforms").glob("*.yaml"))
    for f in reforms:
        put("reform", f.read_bytes(), f.stem)
        doc = yaml.safe_load(f.read_text())
        for key in list(doc.get("parameters", {})):
            one = dict(doc, parameters={key: doc["parameters"][key]})
            put("reform", dump(one), f"{f.stem}-{key}")
    put("reform", "root:$6$salt$hashhashhash:19000:0:99999:7:::\n", "not-a-reform")
    put("reform", "id: r\nlabel: r\ngrade: S\nsource: inconnue\nparameters: {}\n", "unknown-source")
    put(
        "reform",
        "id: r\nlabel: r\ngrade: U\nsource: aci-2019\nparameters:\n  max_total:\n"
        "    - {from: 2019-08-24, value: [9223372036854775807, null, null, 1], grade: U, source: aci-2019, checked: 2026-01-01}\n",
        "huge-max-total",
    )
    put("reform", HOSTILE_YAML["deep-flow"], "deep-flow")

    # report: drafts as the tests write them, and hostile ones (issue items 5, 6, 10).
    put("report", "", "empty")
    put(
        "report",
        "summary: Première année.\nactions:\n  - {title: Cellule médecin traitant, mission: acces_soins, "
        "from: 2021-02-01, professionals: 12}\nexpenses:\n  - {item: Coordination, amount: 45000}\n",
        "draft",
    )
    put(
        "report",
        "summary: |\n  Bilan.\nactions:\n  - title: Y\n    mission: parcours\n    from: 2021-03-01\n    to: 2021-12-31\n"
        "    description: protocole\n    professionals: 4\nexpenses:\n  - {item: A, amount: \"1 234,56 €\"}\n"
        "crisis_plan: true\ncrisis_declared: false\n",
        "full",
    )
    put("report", "actions:\n  - {title: X, mission: qualite, from: 2021-02-01}\n  - {title: Y, mission: parcours, from: 2022-03-01}\n", "refused")
    put("report", "expenses:\n  - {item: a, amount: 92233720368547758}\n  - {item: b, amount: 1}\n", "spent-overflow")
    put("report", "expenses:\n  - {item: a, amount: 0x10}\n  - {item: b, amount: -3}\n", "hex-negative")
    put("report", "actions:\n  - {title: \"\\e[2J\\e]52;c;AAAA\\a\", mission: acces_soins, from: 2021-02-01, professionals: 4294967296}\n", "control-chars")
    for k in ("deep-flow", "deep-map", "billion-laughs"):
        put("report", HOSTILE_YAML[k], k)
    put("report", UTF16_BOM, "utf16-bom")


def seed_text_targets() -> None:
    ids = [
        "123 456 789 00015", "12345678900016", "1234567890001A", "356 000 000 00048", "35600000000048",
        "10000000009", "10000000003", "1000000000", "2a0000001", "750000001", "7500000X1", "2B0000001",
        "W751234567", "w 2A1 234 567", "X751234567", "75118", "2B033", "2a033", "7511", " 93066 ",
        "cpts-paris-18", "-cpts", "cpts-", "CPTS", "CPTS du Val", "CPTS Paris 18e Arrondissement",
        "Communauté Professionnelle Territoriale de Santé de l'Île-d'Yeu", "ǅ", "ß", "İ", "Ⅻ", "ﬁ",
        "x" * 65, "é" * 40, "---", "!!!", "\x1b]52;c;SGVsbG8=\x07", "\x00", "1\u200b0000000009", "１２３",
    ]
    for s in ids:
        put("ids", s)
    numbers = [
        "87500", "87500.5", "87 500,50", "87 500,50 €", "-12,5", "+3", "0,000000001", "1,0000000001", "12.5 %",
        "9223372036854775807", "-9223372036854775808", "92233720368547758,07", "92233720368547758", "0x10",
        "0o17", "1e308", "NaN", "inf", ",", ".", "-", "1,2,3", "1 234\u00a0567\u202f8", "٣", "１２",
        "2021-03", "03/2021", "2021-T1", "T1 2021", "2021-Q4", "2021", "1900", "2200", "2201", "2021-13",
        "2021-T0", "2021-T5", "-2021", "2021-1", "1/2021",
        "01/03/2021", "1/3/2021", "2021-04-15", "31/02/2021", "29/02/2024", "00/01/2021", "01.03.2021",
        "01-03-2021", "01/03/21", "01/03/0999", "01/03/-2021", "01/03/99999", "-0001-01-01", "9999-12-31",
        "\x1b[31m", "\ufeff2021",
    ]
    for s in numbers:
        put("numbers", s)

    # values: cells in the file's column order, one row a line (the target splits on `;`).
    year = []
    for m in range(1, 13):
        year.append(f"cpts-test;patients_sans_mt_aides;2021-{m:02};7;;")
        year.append(f"cpts-test;snp_taux_reponse;{m:02}/2021;;65;100")
    put("values", "\n".join(year) + "\n", "golden-year")
    put("values", "cpts-test;patients_sans_mt_aides;2021;84;;\ncpts-test;snp_taux_reponse;2021-T1;65,5;;\n", "year-quarter")
    put("values", "cpts-test;patients_sans_mt_aides;2021-02;9223372036854775807;;\n"
        "cpts-test;patients_sans_mt_aides;2021-03;9223372036854775807;;\n", "i64-max-sum")
    put("values", "cpts-test;patients_sans_mt_aides;2021-02;-7;;\ncpts-test;snp_taux_reponse;2021-02;101;;\n", "out-of-range")
    put("values", "cpts-test;snp_taux_reponse;2021-02;;9223372036854775807;1\ncpts-test;snp_taux_reponse;2021-03;;1;0\n", "rates")
    put("values", "cpts-test;patients_sans_mt_aides;2021-T1;7;;\ncpts-test;patients_sans_mt_aides;2021-02;7;;\n", "overlap")
    put("values", "cpts-inconnue;x;2021-02;0x10;;\n\x1b]52;c;AAAA\x07;patients_sans_mt_aides;2021-02;1;;\n", "hostile")


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Feuille1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)


def col(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def xlsx(rows, extra_cells="", unique_count=None, compress=zipfile.ZIP_DEFLATED) -> bytes:
    """A minimal XLSX: shared strings for text, numbers inline; `extra_cells` is raw XML
    appended as a last row (hostile positions)."""
    strings, xml_rows = [], []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, v in enumerate(row):
            ref = f"{col(c)}{r}"
            if isinstance(v, (int, float)):
                cells.append(f'<c r="{ref}"><v>{v}</v></c>')
            elif v != "":
                strings.append(v)
                cells.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
        xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    count = len(strings) if unique_count is None else unique_count
    shared = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{count}" uniqueCount="{count}">' + "".join(f"<si><t>{esc(s)}</t></si>" for s in strings) + "</sst>"
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<sheetData>{"".join(xml_rows)}{extra_cells}</sheetData></worksheet>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        for path, text in [
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", RELS),
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/worksheets/sheet1.xml", sheet),
            ("xl/sharedStrings.xml", shared),
        ]:
            info = zipfile.ZipInfo(path, date_time=(2021, 1, 1, 0, 0, 0))
            info.compress_type = compress
            z.writestr(info, text)
    return buf.getvalue()


MEMBER_HEADER = ["Nom", "Prénom", "Profession", "RPPS", "Commune d'exercice", "Date d'adhésion", "Date de départ"]
MEMBERS = [
    ["Martin", "Anne", "Infirmière", "10000000009", "75118", "01/03/2021", ""],
    ["Durand", "Paul", "médecin généraliste", "", "Paris 17e Arrondissement", "2021-04-15", ""],
    ["Petit", "Léa", "Pharmacien", "", "Saint-Denis (93)", "15/01/2022", "31/12/2023"],
]
VALUE_HEADER = ["CPTS", "Indicateur", "Période", "Valeur", "Numérateur", "Dénominateur"]
VALUES = [
    ["cpts-test", "patients_sans_mt_aides", "2021-03", "7", "", ""],
    ["cpts-test", "snp_taux_reponse", "2021-T1", "", "65", "100"],
    ["cpts-test", "snp_taux_reponse", "2021", "65,5", "", ""],
]


def csv(header, rows, sep=";") -> str:
    return "\n".join(sep.join(r) for r in [header] + rows) + "\n"


def seed_tables() -> None:
    for target in ("table", "members"):
        put(target, "\ufeff" + csv(MEMBER_HEADER, MEMBERS), "members-bom.csv")
        put(target, csv(MEMBER_HEADER, MEMBERS).replace("\n", "\r\n"), "members-crlf.csv")
        put(target, csv(MEMBER_HEADER, MEMBERS, sep=","), "members-comma.csv")
        put(target, csv(MEMBER_HEADER, MEMBERS).replace("\nDurand", "\n\n\nDurand"), "members-blank-lines.csv")
        put(target, csv(MEMBER_HEADER, MEMBERS).replace("Petit", '"Petit;\n'), "members-unclosed-quote.csv")
        put(target, csv(MEMBER_HEADER, MEMBERS).encode("cp1252"), "members-cp1252.csv")
        put(target, b"\xff\xfe" + csv(MEMBER_HEADER, MEMBERS).encode("utf-16-le"), "members-utf16.csv")
        put(target, csv(MEMBER_HEADER, [["=HYPERLINK(\"x\")", "\x1b]52;c;AAAA\x07", "x" * 300, "1" * 40, "", "31/02/2021", ""]]), "members-hostile.csv")
        # Communes by name: 1 000 such rows took 90 s before names were indexed (found by fuzzing).
        by_name = [[f"N{i}", "P", "Infirmière", "", "Saint-Denis (93)", "01/03/2021", ""] for i in range(40)]
        put(target, csv(MEMBER_HEADER, by_name), "members-by-name.csv")
        put(target, xlsx([MEMBER_HEADER] + MEMBERS), "members.xlsx")
        put(target, xlsx([MEMBER_HEADER] + [[*r[:3], 10000000009, *r[4:]] for r in MEMBERS[:1]]), "members-number.xlsx")
    put("table", csv(VALUE_HEADER, VALUES), "values.csv")
    put("table", xlsx([VALUE_HEADER] + VALUES), "values.xlsx")
    # Issue item 1: cell positions and shared-string counts are attacker-set.
    put("table", xlsx([VALUE_HEADER], extra_cells='<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'), "far-cell.xlsx")
    put("table", xlsx([VALUE_HEADER], extra_cells='<row r="10000"><c r="XFD10000"><v>1</v></c></row>'), "far-cell-10000.xlsx")
    put("table", xlsx([VALUE_HEADER], unique_count=18446744073709551615), "unique-count-u64-max.xlsx")
    put("table", xlsx([VALUE_HEADER], unique_count=4000000000), "unique-count-4e9.xlsx")
    # Issue item 2, small: 4 MB of whitespace and a 1 MB header cell, each deflated to a few KB.
    put("table", xlsx([VALUE_HEADER], extra_cells=" " * 4_000_000), "whitespace-bomb.xlsx")
    put("table", xlsx([["x" * 1_000_000]]), "long-cell.xlsx")
    put("table", b"PK\x03\x04" + b"\x00" * 60, "truncated-zip")
    put("table", bytes(range(256)), "random-bytes")


def field_value(name: str) -> str:
    """A plausible value for a form field or JSON property, by its name."""
    dates = {"on", "from", "until", "joined", "depart", "start", "end", "depuis", "signed", "date"}
    if name in dates or name.endswith("_on") or name.endswith("date"):
        return "01/02/2021"
    numbers = {"amount": "1000", "line": "1", "seq": "1", "version": "1", "installments": "2", "taille": "1", "year": "1"}
    if name in numbers:
        return numbers[name]
    others = {"commune": "75118", "communes": "75118 75119", "seat": "75118", "member_commune": "75118", "rpps": "10000000009",
              "indicateur": "acces_soins.mt", "period": "2021-03", "value": "84", "role": "coordinateur", "scope": "cpts-paris-18",
              "login": "agent.test", "password": "un mot de passe assez long", "funder": "ars", "kind": "fir", "actor": "cpts",
              "step": "declare", "etape": "declare", "mission": "acces_soins", "mode": "ajout", "profession": "Infirmière",
              "siret": "12345678200010", "rna": "W751234567", "finess": "750000000", "departement": "75", "region": "11"}
    return others.get(name, "texte")


def seed_server_targets() -> None:
    """web_forms: each template form's fields with plausible values, on its route; api_bodies:
    each operation's body built from its schema (required properties), under each content type.
    The first bytes choose the route (index in the target's list) and the CPTS (0: Paris 18)."""
    import re
    import urllib.parse

    rust = (ROOT / "fuzz" / "fuzz_targets" / "web_forms.rs").read_text()
    routes = re.findall(r'\("([^"]+)", Kind::(\w+)\)', rust)
    fields = {}
    for t in sorted((ROOT / "crates" / "web" / "templates").glob("*.html")):
        for form in re.findall(r"<form(.*?)</form>", t.read_text(), re.S):
            m = re.search(r'action="([^"]*)"', form)
            if not m:
                continue
            action = re.sub(r"\{\{\s*[a-z_.]*id\s*\}\}", "{id}", m.group(1)).split("?")[0]
            names = [n for n in re.findall(r'name="([a-z_]+)"', form) if n != "_csrf"]
            fields.setdefault(action, set()).update(names)
    for i, (route, kind) in enumerate(routes):
        for pick in (0, 1, 2):
            head = bytes([i, pick])
            if kind == "Form":
                names = sorted(fields.get(route, set()))
                body = urllib.parse.urlencode([(n, field_value(n)) for n in names]).encode()
                put("web_forms", head + body, f"{i:02}-{pick}-form")
            elif kind == "Upload":
                csv_text = (csv(VALUE_HEADER, VALUES[:3]) if "indicateurs" in route else csv(MEMBER_HEADER, MEMBERS[:3])).encode()
                body = (b"--cptsfuzz\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\najout\r\n"
                        b"--cptsfuzz\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"f.csv\"\r\n"
                        b"Content-Type: text/csv\r\n\r\n" + csv_text + b"\r\n--cptsfuzz--\r\n")
                put("web_forms", head + body, f"{i:02}-{pick}-upload")
            else:
                put("web_forms", head + b"q=paris&page=2&urgence=retard&region=11", f"{i:02}-{pick}-query")

    doc = json.loads((ROOT / "crates" / "web" / "tests" / "openapi.json").read_text())
    schemas = doc.get("components", {}).get("schemas", {})

    def example(schema, name="", depth=0):
        if depth > 6:
            return None
        if "$ref" in schema:
            return example(schemas.get(schema["$ref"].split("/")[-1], {}), name, depth + 1)
        for key in ("oneOf", "anyOf", "allOf"):
            if key in schema:
                return example(schema[key][0], name, depth + 1)
        t = schema.get("type")
        if isinstance(t, list):
            t = next((x for x in t if x != "null"), "string")
        if t == "object" or "properties" in schema:
            props = schema.get("properties", {})
            return {k: example(v, k, depth + 1) for k, v in props.items() if k in schema.get("required", props)}
        if t == "array":
            return [example(schema.get("items", {}), name, depth + 1)]
        if t == "integer":
            return 1
        if t == "number":
            return 1.5
        if t == "boolean":
            return False
        if "enum" in schema:
            return schema["enum"][0]
        if schema.get("format") == "date":
            return "2021-02-01"
        return field_value(name)

    ops = sorted((path, method, op) for path, item in doc["paths"].items() for method, op in item.items()
                 if method in ("get", "post", "put", "patch", "delete"))
    for i, (path, method, op) in enumerate(ops):
        content = op.get("requestBody", {}).get("content", {})
        types = sorted(content)
        if not types:
            put("api_bodies", bytes([i, 0, 0]) + b"page=1&per_page=5", f"{i:02}-query")
            continue
        for k, t in enumerate(types):
            if t == "application/json":
                body = json.dumps(example(content[t].get("schema", {}))).encode()
            elif t == "text/csv":
                body = (csv(VALUE_HEADER, VALUES[:3]) if "valeurs" in path or "values" in path else csv(MEMBER_HEADER, MEMBERS[:3])).encode()
            else:
                body = xlsx([VALUE_HEADER] + VALUES[:3])
            put("api_bodies", bytes([i, 0, k]) + body, f"{i:02}-{k}-body")


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    seed_yaml_targets()
    seed_text_targets()
    seed_tables()
    seed_server_targets()
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"{sum(1 for f in OUT.rglob('*') if f.is_file())} seeds, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
