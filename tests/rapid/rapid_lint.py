#!/usr/bin/env python3
"""rapid-lint: names and string lengths of the RAPID examples, per task.

Usage: rapid_lint.py [--examples DIR] [--bad DIR] [--builtins FILE] [-v]

What it reads
  - rapid-examples/README.md, the table "Automatic Loading of Modules": rows
    | `HOME:/.../File.ext` | TASK |. Each module is checked together with
    the other modules of its task(s).
  - every module named there (a module not in the table is an error).
  - tests/rapid/builtins.txt: the built-in names the modules use
    (instructions, functions, data types, constants); a name listed there
    that no module uses fails too, so the list stays the modules' own.
  - tests/rapid/bad/: small modules that must each FAIL with one rule. A file
    case.mod is one task of its own; a directory case/ holds several modules,
    each loaded into the task named on its "! rapid-lint-task: NAME" line.
    The first file names the rule it must break: "! rapid-lint-expect: RULE";
    the case passes when the lint finds that rule and no other.

Rules (RAPID names ignore case, so every comparison here does too)
  dup-name       a name declared twice in one routine, one module, or (for
                 global names) one task; LOCAL hides a global of another module,
                 and a FOR variable hides other data of its routine.
  undeclared     a name used but declared nowhere in its routine, module or
                 task, and not in builtins.txt.
  reserved-word  a RAPID reserved word declared as a name.
  string-length  a string literal of more than 80 characters, or a sum of
                 string literals and string CONSTs (a + b + c, all constant)
                 of more than 80.
  pers-differs   one PERS (not TASK PERS) declared with another type, size or
                 initial value in two modules: a PERS is one value in every
                 task, and RAPID refuses a second declaration of another type
                 or size (the initial value of the first module loaded wins).

Limits: this is a name and length checker over a token stream, not a RAPID
parser. It does not check types, argument counts, optional-argument names
(\Time, \Str: any name after "\" is taken as valid), record components after
"." or expressions. It knows the declaration forms the examples use: data
([LOCAL|TASK] VAR|PERS|CONST type name[{dims}] [:= value];), PROC, FUNC, TRAP
with parameters, RECORD and the loop variable of FOR. A name used only inside
late binding (%"Name"% or %var%) is not checked.

Output: one line per problem, one line per unit (ok / FAIL), and at the end
"rapid-lint: N passed, M failed". Exit status 0 when nothing failed.
"""
import os
import re
import sys

RAPID_STR_MAX = 80

# The reserved words of RAPID (Technical reference manual, RAPID kernel,
# "Reserved words"); none may be used as a name.
RESERVED = set("""
ALIAS AND BACKWARD CASE CONNECT CONST DEFAULT DIV DO ELSE ELSEIF ENDFOR
ENDFUNC ENDIF ENDMODULE ENDPROC ENDRECORD ENDTEST ENDTRAP ENDWHILE ERROR EXIT
FALSE FOR FROM FUNC GOTO IF INOUT LOCAL MOD MODULE NOSTEPIN NOT NOVIEW OR PERS
PROC RAISE READONLY RECORD RETRY RETURN STEP SYSMODULE TEST THEN TO TRAP TRUE
TRYNEXT UNDO VAR VIEWONLY WHILE WITH XOR TASK
""".split())
# Keywords that may appear in code and are never names.
KEYWORDS = RESERVED


class Problem(Exception):
    pass


# --- lexer -------------------------------------------------------------------

TOKEN_RE = re.compile(r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<comment>![^\n]*)
  | (?P<str>"(?:[^"\n]|"")*")
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<id>[A-Za-z][A-Za-z0-9_]*)
  | (?P<op>:=|<>|<=|>=|[-+*/<>=(){}\[\],;:.\\%|?])
  | (?P<bad>.)
""", re.X)


class Tok:
    __slots__ = ("kind", "text", "line", "low")

    def __init__(self, kind, text, line):
        self.kind, self.text, self.line = kind, text, line
        self.low = text.lower()

    def __repr__(self):
        return "%s:%r@%d" % (self.kind, self.text, self.line)


def literal_len(raw):
    """Characters a RAPID string literal holds: \\\\ and \\HH are one, "" is one."""
    body = raw[1:-1].replace('""', '"')
    n, i = 0, 0
    while i < len(body):
        if body.startswith("\\\\", i):
            i += 2
        elif body[i] == "\\" and re.match(r"[0-9A-Fa-f]{2}", body[i + 1:i + 3]):
            i += 3
        else:
            i += 1
        n += 1
    return n


def lex(text, fname):
    toks, line = [], 1
    for m in TOKEN_RE.finditer(text):
        kind = m.lastgroup
        if kind == "nl":
            line += 1
        elif kind in ("ws", "comment"):
            pass
        elif kind == "bad":
            raise Problem("%s:%d: cannot read character %r" % (fname, line, m.group()))
        else:
            toks.append(Tok(kind, m.group(), line))
    return toks


# --- declarations ----------------------------------------------------------------

class Decl:
    def __init__(self, name, line, kind, local=False, task=False, dtype="", dims="", init=""):
        self.name, self.line, self.kind = name, line, kind
        self.local, self.task = local, task
        self.dtype, self.dims, self.init = dtype, dims, init


class Routine:
    def __init__(self, name):
        self.name = name
        self.decls = []     # params, local data, FOR variables
        self.uses = []      # (token) names used in the body


class Module:
    def __init__(self, fname):
        self.fname = fname
        self.name = None
        self.line = 0
        self.decls = []     # module-level: data, routines, records
        self.routines = []
        self.module_uses = []   # names used in module-level declarations
        self.consts = {}        # lower name -> length of a constant string
        self.string_sums = []   # (line, [operand tokens]) constant sums to measure


def split_top(toks, seps):
    """Split tokens at separators that are not inside () {} []."""
    parts, cur, depth = [], [], 0
    for t in toks:
        if t.text in "({[":
            depth += 1
        elif t.text in ")}]":
            depth -= 1
        if depth == 0 and t.kind == "op" and t.text in seps:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    return parts


def statements(toks):
    """Group tokens into statements. A statement ends at ';', or at the end of
    a line when its first token opens or closes a block without ';'."""
    NO_SEMI = {"module", "endmodule", "proc", "endproc", "func", "endfunc", "trap", "endtrap",
               "if", "else", "elseif", "endif", "while", "endwhile", "for", "endfor",
               "test", "endtest", "case", "default", "error", "undo", "backward", "record",
               "endrecord"}
    out, cur = [], []
    i = 0
    while i < len(toks):
        t = toks[i]
        cur.append(t)
        end = False
        if t.text == ";":
            end = True
        elif cur[0].low in NO_SEMI or (cur[0].low in ("local",) and len(cur) > 1 and
                                       cur[1].low in ("proc", "func", "trap", "record")):
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            first = cur[0].low if cur[0].low != "local" else cur[1].low
            if first in ("if", "elseif"):
                # IF cond THEN (a block) ends at THEN; IF cond stmt; (compact) at ';'
                end = t.low == "then"
            elif first in ("case", "default"):
                end = t.text == ":"
            elif first in ("while", "for"):
                end = t.low == "do"
            elif first in ("proc", "func"):
                # the header ends at its closing parenthesis
                depth = sum(1 if x.text == "(" else -1 if x.text == ")" else 0 for x in cur)
                end = depth == 0 and t.text == ")"
            elif first in ("trap", "module", "record"):
                end = nxt is None or nxt.line != t.line
            else:
                end = True  # single-word lines: ENDIF, ELSE, ERROR ...
        if end:
            out.append(cur)
            cur = []
        i += 1
    if cur:
        out.append(cur)
    return out


def parse_params(toks):
    """PROC P(num a, \\switch Hex | num b, INOUT string c{*}) -> [(name, line)]."""
    out = []
    for alt in split_top(toks, ",|"):
        ts = [t for t in alt if t.text != "\\"]
        while ts and ts[0].low in ("var", "pers", "inout"):
            ts = ts[1:]
        ids = [t for t in ts if t.kind == "id"]
        if len(ids) >= 2:
            out.append(ids[1])
        elif ids:
            out.append(ids[0])
    return out


def parse_module(fname, text):
    m = Module(fname)
    toks = lex(text, fname)
    stmts = statements(toks)
    routine = None
    in_record = False
    in_body = False   # past the routine's local declarations
    for st in stmts:
        first = st[0].low
        if in_record:
            if first == "endrecord":
                in_record = False
            else:
                m.module_uses.append(st[0])   # a component's type
            continue
        if first == "module":
            m.name = st[1]
            m.line = st[1].line
            continue
        if first == "endmodule":
            continue
        local = first == "local"
        task = first == "task"
        head = st[1:] if (local or task) else st
        if not head:
            continue
        kw = head[0].low
        if kw in ("proc", "func", "trap") and routine is None:
            if kw == "func":
                m.module_uses.append(head[1])   # the return type
                name = head[2]
            else:
                name = head[1]
            d = Decl(name, name.line, kw, local=local)
            m.decls.append(d)
            routine = Routine(name)
            m.routines.append(routine)
            in_body = False
            if kw != "trap":
                lp = next(i for i, t in enumerate(head) if t.text == "(")
                rp = max(i for i, t in enumerate(head) if t.text == ")")
                params = head[lp + 1:rp]
                for p in parse_params(params):
                    routine.decls.append(Decl(p, p.line, "param"))
                for alt in split_top(params, ",|"):
                    ts = [t for t in alt if t.text != "\\" and t.low not in ("var", "pers", "inout")]
                    ids = [t for t in ts if t.kind == "id"]
                    if len(ids) >= 2:
                        routine.uses.append(ids[0])
            continue
        if kw in ("endproc", "endfunc", "endtrap"):
            routine = None
            continue
        if kw == "record" and routine is None:
            m.decls.append(Decl(head[1], head[1].line, "record", local=local))
            in_record = True
            continue
        if kw in ("var", "pers", "const"):
            if len(head) < 3 or head[1].kind != "id" or head[2].kind != "id":
                raise Problem("%s:%d: cannot read this declaration" % (fname, st[0].line))
            dtype, name = head[1], head[2]
            rest = head[3:]
            dims, init = "", []
            if rest and rest[0].text == "{":
                close = next(i for i, t in enumerate(rest) if t.text == "}")
                dims = " ".join(t.low for t in rest[1:close])
                for t in rest[1:close]:
                    if t.kind == "id":
                        (routine.uses if routine else m.module_uses).append(t)
                rest = rest[close + 1:]
            if rest and rest[0].text == ":=":
                init = [t for t in rest[1:] if t.text != ";"]
            d = Decl(name, name.line, kw, local=local, task=task, dtype=dtype.low, dims=dims,
                     init=" ".join(t.text if t.kind == "str" else t.low for t in init))
            target_uses = routine.uses if routine else m.module_uses
            target_uses.append(dtype)
            target_uses.extend(t for t in names_used(init))
            if routine is not None:
                if in_body:
                    raise Problem("%s:%d: declaration after the first statement of %s"
                                  % (fname, st[0].line, routine.name.text))
                routine.decls.append(d)
            else:
                m.decls.append(d)
                if kw == "const" and dtype.low == "string":
                    m.consts[name.low] = init
            m.string_sums.append(init)
            continue
        if routine is None:
            raise Problem("%s:%d: statement outside a routine: %s"
                          % (fname, st[0].line, " ".join(t.text for t in st[:6])))
        in_body = True
        if kw == "for" and len(head) > 1:
            routine.decls.append(Decl(head[1], head[1].line, "for"))
            routine.uses.extend(names_used(head[2:]))
            m.string_sums.append(head)
            continue
        if kw == "connect":
            routine.uses.extend(names_used(head[1:]))
            continue
        routine.uses.extend(names_used(head))
        m.string_sums.append(head)
    if m.name is None:
        raise Problem("%s: no MODULE line" % fname)
    return m


def names_used(toks):
    """Identifier tokens that name something: not keywords, not a record
    component after '.', not an optional-argument name after '\\', not inside
    late binding %...%."""
    out, prev, in_late = [], None, False
    for t in toks:
        if t.text == "%":
            in_late = not in_late
        elif t.kind == "id" and t.low.upper() not in KEYWORDS and not in_late:
            if prev is None or prev.text not in (".", "\\"):
                out.append(t)
        elif t.kind == "id" and in_late:
            out.append(t)  # %procName%: the variable that holds the name
        prev = t
    return out


# --- rules ---------------------------------------------------------------------------

class Unit:
    def __init__(self, name):
        self.name = name
        self.problems = []   # (rule, text)

    def add(self, rule, where, text):
        self.problems.append((rule, "%s: %s: %s" % (where, rule, text)))


def used_names(modules):
    """Every name the modules use, lower case."""
    out = set()
    for m in modules:
        out.update(t.low for t in m.module_uses)
        for r in m.routines:
            out.update(t.low for t in r.uses)
    return out


def check_task(unit, modules, builtins):
    """Every rule but pers-differs, for the modules of one task."""
    globals_ = {}
    mods = {}
    for m in modules:
        if m.name.low in mods:
            unit.add("dup-name", "%s:%d" % (m.fname, m.line),
                     "module %s loaded twice in this task" % m.name.text)
        mods[m.name.low] = m
        for d in m.decls:
            if d.local:
                continue
            prev = globals_.get(d.name.low)
            if prev is not None and prev[0] is m:
                continue  # twice in one module: the module check reports it
            if prev is not None:
                unit.add("dup-name", "%s:%d" % (m.fname, d.line),
                         "%s is also declared in %s:%d (names ignore case)"
                         % (d.name.text, prev[0].fname, prev[1].line))
            else:
                globals_[d.name.low] = (m, d)
    for m in modules:
        seen = {}
        for d in m.decls:
            if d.name.text.upper() in RESERVED:
                unit.add("reserved-word", "%s:%d" % (m.fname, d.line),
                         "%s is a reserved word" % d.name.text)
            p = seen.get(d.name.low)
            if p is not None:
                unit.add("dup-name", "%s:%d" % (m.fname, d.line),
                         "%s is also declared at line %d of this module (names ignore case)"
                         % (d.name.text, p.line))
            else:
                seen[d.name.low] = d
        if m.name.text.upper() in RESERVED:
            unit.add("reserved-word", "%s:%d" % (m.fname, m.line),
                     "module name %s is a reserved word" % m.name.text)
        module_names = {d.name.low for d in m.decls}
        task_names = set(globals_) | module_names | set(mods) | builtins

        def use_check(tok, extra):
            if tok.low not in extra and tok.low not in task_names:
                unit.add("undeclared", "%s:%d" % (m.fname, tok.line),
                         "%s is declared nowhere in this task (nor in builtins.txt)" % tok.text)

        for t in m.module_uses:
            use_check(t, set())
        for r in m.routines:
            local = {}
            for d in r.decls:
                if d.name.text.upper() in RESERVED:
                    unit.add("reserved-word", "%s:%d" % (m.fname, d.line),
                             "%s is a reserved word" % d.name.text)
                # a FOR variable is local to its loop and hides other data
                if d.name.low in local and "for" not in (d.kind, local[d.name.low].kind):
                    unit.add("dup-name", "%s:%d" % (m.fname, d.line),
                             "%s is declared twice in %s (names ignore case)"
                             % (d.name.text, r.name.text))
                local[d.name.low] = d
            for t in r.uses:
                use_check(t, local)
        check_strings(unit, m)


def check_strings(unit, m):
    for toks in m.string_sums:
        # maximal runs: operand (+ operand)* with every operand a literal or a string CONST
        i = 0
        while i < len(toks):
            run, j = [], i
            while j < len(toks):
                t = toks[j]
                if t.kind == "str":
                    run.append(literal_len(t.text))
                    if literal_len(t.text) > RAPID_STR_MAX:
                        unit.add("string-length", "%s:%d" % (m.fname, t.line),
                                 "string literal of %d characters (at most %d)"
                                 % (literal_len(t.text), RAPID_STR_MAX))
                elif t.kind == "id" and t.low in m.consts and (j + 1 >= len(toks) or toks[j + 1].text != "{"):
                    run.append(const_len(m, t.low, set()))
                else:
                    break
                if j + 1 < len(toks) and toks[j + 1].text == "+":
                    j += 2
                else:
                    j += 1
                    break
            if len(run) > 1 and sum(run) > RAPID_STR_MAX:
                unit.add("string-length", "%s:%d" % (m.fname, toks[i].line),
                         "a sum of constant strings of %d characters (at most %d)"
                         % (sum(run), RAPID_STR_MAX))
            i = j if j > i else i + 1


def const_len(m, low, seen):
    if low in seen:
        return 0
    seen.add(low)
    total = 0
    for t in m.consts[low]:
        if t.kind == "str":
            total += literal_len(t.text)
        elif t.kind == "id" and t.low in m.consts:
            total += const_len(m, t.low, seen)
    return total


def check_pers(unit, placed):
    """placed: [(task, module)]. Shared PERS must be declared alike everywhere."""
    first = {}
    for task, m in placed:
        for d in m.decls:
            if d.kind != "pers" or d.task or d.local:
                continue
            sig = (d.dtype, d.dims, d.init)
            prev = first.get(d.name.low)
            if prev is None:
                first[d.name.low] = (task, m, d, sig)
            elif prev[3] != sig:
                what = ("type" if prev[3][0] != sig[0] else "size" if prev[3][1] != sig[1]
                        else "initial value")
                unit.add("pers-differs", "%s:%d" % (m.fname, d.line),
                         "PERS %s differs in %s from %s:%d (%s)"
                         % (d.name.text, what, prev[1].fname, prev[2].line, prev[0]))


# --- inputs ----------------------------------------------------------------------

def read(path):
    with open(path, encoding="latin-1") as f:
        return f.read()


def load_table(readme):
    """README rows | `HOME:/x/File.ext` | TASK | -> [(file, task)]."""
    rows = []
    for line in read(readme).splitlines():
        mt = re.match(r"\s*\|\s*`[^`|]*?/([A-Za-z0-9_]+\.(?:mod|sys|modx|sysx))`\s*\|\s*([A-Za-z0-9_]+)\s*\|\s*$",
                      line)
        if mt:
            rows.append((mt.group(1), mt.group(2)))
    return rows


def load_builtins(path):
    names = set()
    for line in read(path).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.update(w.lower() for w in line.split())
    return names


class Units(list):
    used = frozenset()


def lint_placed(unit_prefix, placed_files, builtins):
    """placed_files: [(task, path)] -> units (one per task, one for shared PERS);
    .used holds every name the modules use."""
    units, parsed, cache = Units(), [], {}
    bad = Unit(unit_prefix + "read")
    for task, path in placed_files:
        try:
            if path not in cache:
                cache[path] = parse_module(os.path.basename(path), read(path))
            parsed.append((task, cache[path]))
        except (Problem, OSError, StopIteration, IndexError) as e:
            bad.add("read", os.path.basename(path), str(e) or "cannot parse")
    if bad.problems:
        return Units([bad])
    tasks = []
    for task, _ in parsed:
        if task not in tasks:
            tasks.append(task)
    for task in tasks:
        u = Unit("%stask %s" % (unit_prefix, task))
        check_task(u, [m for t, m in parsed if t == task], builtins)
        units.append(u)
    u = Unit("%sshared PERS" % unit_prefix)
    check_pers(u, parsed)
    units.append(u)
    units.used = used_names(m for _, m in parsed)
    return units


def bad_cases(bad_dir):
    """[(case name, [(task, path)], expected rule)]."""
    cases = []
    for entry in sorted(os.listdir(bad_dir)):
        path = os.path.join(bad_dir, entry)
        if os.path.isdir(path):
            files = sorted(os.path.join(path, f) for f in os.listdir(path)
                           if f.endswith((".mod", ".sys")))
        elif entry.endswith((".mod", ".sys")):
            files = [path]
        else:
            continue
        placed, expect = [], None
        for f in files:
            text = read(f)
            mt = re.search(r"!\s*rapid-lint-task:\s*(\w+)", text)
            placed.append((mt.group(1) if mt else "T_" + os.path.splitext(entry)[0], f))
            me = re.search(r"!\s*rapid-lint-expect:\s*([\w-]+)", text)
            if me and expect is None:
                expect = me.group(1)
        cases.append((entry, placed, expect))
    return cases


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    examples = os.path.join(root, "rapid-examples")
    bad_dir = os.path.join(here, "bad")
    builtins_path = os.path.join(here, "builtins.txt")
    verbose = False
    args = list(argv[1:])
    while args:
        a = args.pop(0)
        if a == "--examples":
            examples = args.pop(0)
        elif a == "--bad":
            bad_dir = args.pop(0)
        elif a == "--builtins":
            builtins_path = args.pop(0)
        elif a == "-v":
            verbose = True
        else:
            print("usage: rapid_lint.py [--examples DIR] [--bad DIR] [--builtins FILE] [-v]",
                  file=sys.stderr)
            return 2
    builtins = load_builtins(builtins_path)
    passed = failed = 0

    # 1. the examples, as the README loads them
    rows = load_table(os.path.join(examples, "README.md"))
    placed = [(task, os.path.join(examples, f)) for f, task in rows]
    units = lint_placed("", placed, builtins)
    listed = {f for f, _ in rows}
    extra = Unit("load table")
    if not rows:
        extra.add("read", "README.md", "no load table rows (| `HOME:/.../File.mod` | TASK |)")
    for f in sorted(os.listdir(examples)):
        if f.endswith((".mod", ".sys")) and f not in listed:
            extra.add("read", f, "not in the README's load table, so not checked")
    units.append(extra)
    # builtins.txt lists what the modules use, nothing more
    listed_builtins = Unit("builtins.txt")
    for name in sorted(builtins - units.used):
        listed_builtins.add("read", "builtins.txt", "%s is used by no module: remove it" % name)
    units.append(listed_builtins)
    for u in units:
        if u.problems:
            failed += 1
            for _, text in u.problems:
                print(text)
            print("FAIL %s" % u.name)
        else:
            passed += 1
            print("ok   %s" % u.name)

    # 2. each bad module must fail, with its rule
    for name, placed, expect in bad_cases(bad_dir):
        units = lint_placed("", placed, builtins)
        rules = {r for u in units for r, _ in u.problems}
        # the case must break its rule and no other, or it tests nothing
        ok = expect is not None and rules == {expect}
        if ok:
            passed += 1
            print("ok   bad/%s fails with %s" % (name, expect))
            if verbose:
                for u in units:
                    for _, text in u.problems:
                        print("     " + text)
        else:
            failed += 1
            print("FAIL bad/%s: expected rule %s, got %s"
                  % (name, expect or "(no rapid-lint-expect line)", ", ".join(sorted(rules)) or "none"))
            for u in units:
                for _, text in u.problems:
                    print("     " + text)
    print("rapid-lint: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
