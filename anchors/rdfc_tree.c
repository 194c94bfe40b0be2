/* A JSON node tree under a context that gives each term one meaning, written as quads of
 * canonical N-Quads terms and canonicalized, in C: the ledger's own documents
 * (ledger/formats/blockcerts/document_quads.py, whose Python writer is the oracle).
 *
 * Only the plain case is written here: exact dicts, lists, str and int (within 64 bits), text
 * that is Unicode scalar values, IRIs that fully match the writer's pattern. Anything else
 * (a float, an unknown term, a bool, a subclass, a deep tree...) gives None and the Python
 * writer decides, so that every edge keeps the Python's behaviour by construction. */

#include "rdfc_native.h"

#include <stdint.h>

#define RDF_TYPE "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
#define XSD_INTEGER "http://www.w3.org/2001/XMLSchema#integer"
#define MAX_DEPTH 64

enum { WRITTEN = 0, ERROR = -1, NOT_HANDLED = -2 };

/* A term: external UTF-8 (ext), or at an offset of the writer's arena, which may move. */
typedef struct {
    const char *ext;
    size_t at, n;
} Term;

typedef struct {
    Term t[3];
} Written;

typedef struct {
    Buf arena;
    Written *quads;
    size_t nquads, cap;
    int blank, depth;
    PyObject *top_predicates, *top_types, *predicates, *types;
} Writer;

static int text_of(PyObject *str, Piece *out)
{
    Py_ssize_t n;
    out->s = PyUnicode_AsUTF8AndSize(str, &n);
    if (!out->s) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return ERROR;
        PyErr_Clear(); /* a lone surrogate: the Python writer's case */
        return NOT_HANDLED;
    }
    out->n = (size_t)n;
    return WRITTEN;
}

static int is_letter(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* ^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>"{}|^`\\]*$, to the end of the text. */
static int absolute_iri(const Piece *p)
{
    size_t k = 1;
    if (!p->n || !is_letter((unsigned char)p->s[0])) return 0;
    for (; k < p->n && p->s[k] != ':'; k++) {
        unsigned char c = (unsigned char)p->s[k];
        if (!is_letter(c) && !(c >= '0' && c <= '9') && c != '+' && c != '.' && c != '-')
            return 0;
    }
    if (k == p->n) return 0;
    for (k++; k < p->n; k++) {
        unsigned char c = (unsigned char)p->s[k];
        if (c <= 0x20 || c == '<' || c == '>' || c == '"' || c == '{' || c == '}' || c == '|' ||
            c == '^' || c == '`' || c == '\\')
            return 0;
    }
    return 1;
}

/* Canonical N-Quads' escapes: ECHAR for quote, backslash, LF, CR, BS, TAB and FF; UCHAR for
 * the other C0 controls, DEL, U+FFFE and U+FFFF. */
static int put_escaped(Buf *b, const Piece *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t start = 0;
    for (size_t k = 0; k < text->n; k++) {
        unsigned char c = (unsigned char)text->s[k];
        char code[7] = {'\\', 'u', '0', '0', 0, 0, 0};
        const char *replacement = code;
        size_t length = 2, skip = 1;
        if (c == '"' || c == '\\') {
            code[1] = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\b' || c == '\t' || c == '\f') {
            code[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\b' ? 'b' : c == '\t' ? 't' : 'f';
        } else if (c < 0x20 || c == 0x7f) {
            code[4] = hex[c >> 4];
            code[5] = hex[c & 15];
            length = 6;
        } else if (c == 0xEF && k + 2 < text->n && (unsigned char)text->s[k + 1] == 0xBF &&
                   ((unsigned char)text->s[k + 2] & 0xFE) == 0xBE) {
            replacement = (unsigned char)text->s[k + 2] == 0xBE ? "\\uFFFE" : "\\uFFFF";
            length = 6;
            skip = 3;
        } else {
            continue;
        }
        if (buf_put(b, text->s + start, k - start) || buf_put(b, replacement, length))
            return ERROR;
        start = k + skip;
        k += skip - 1;
    }
    return buf_put(b, text->s + start, text->n - start) ? ERROR : WRITTEN;
}

static int put(Writer *w, const char *s, size_t n)
{
    return buf_put(&w->arena, s, n) ? ERROR : WRITTEN;
}

static int add_quad(Writer *w, Term s, Term p, Term o)
{
    if (w->nquads == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 128;
        Written *grown = realloc(w->quads, cap * sizeof *grown);
        if (!grown) return ERROR;
        w->quads = grown;
        w->cap = cap;
    }
    w->quads[w->nquads].t[0] = s;
    w->quads[w->nquads].t[1] = p;
    w->quads[w->nquads].t[2] = o;
    w->nquads++;
    return WRITTEN;
}

static Term external(const Piece *p)
{
    Term t = {p->s, 0, p->n};
    return t;
}

static int iri_term(Writer *w, const Piece *iri, Term *out)
{
    if (!absolute_iri(iri)) return NOT_HANDLED;
    out->ext = NULL;
    out->at = w->arena.len;
    if (put(w, "<", 1) || put(w, iri->s, iri->n) || put(w, ">", 1)) return ERROR;
    out->n = w->arena.len - out->at;
    return WRITTEN;
}

static int write_node(Writer *w, PyObject *node, int top, Term *subject);

static PyObject *id_key; /* "id", made once */

/* The object term of value under a term of the given coercion ("@id", "" or a datatype IRI). */
static int object_term(Writer *w, PyObject *value, const Piece *coercion, Term *out)
{
    int status;
    if (PyUnicode_CheckExact(value)) {
        Piece text;
        if ((status = text_of(value, &text))) return status;
        if (coercion->n == 3 && !memcmp(coercion->s, "@id", 3)) return iri_term(w, &text, out);
        out->ext = NULL;
        out->at = w->arena.len;
        if (put(w, "\"", 1) || put_escaped(&w->arena, &text) || put(w, "\"", 1)) return ERROR;
        if (coercion->n &&
            (put(w, "^^<", 3) || put(w, coercion->s, coercion->n) || put(w, ">", 1)))
            return ERROR;
        out->n = w->arena.len - out->at;
        return WRITTEN;
    }
    if (PyDict_CheckExact(value)) return write_node(w, value, 0, out);
    if (PyLong_CheckExact(value)) {
        int overflow;
        char digits[24];
        if (coercion->n && !(coercion->n == sizeof XSD_INTEGER - 1 &&
                             !memcmp(coercion->s, XSD_INTEGER, coercion->n)))
            return NOT_HANDLED;
        long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (overflow) return NOT_HANDLED;
        if (number == -1 && PyErr_Occurred()) return ERROR;
        int n = snprintf(digits, sizeof digits, "%lld", number);
        out->ext = NULL;
        out->at = w->arena.len;
        if (put(w, "\"", 1) || put(w, digits, (size_t)n) ||
            put(w, "\"^^<" XSD_INTEGER ">", sizeof "\"^^<" XSD_INTEGER ">" - 1))
            return ERROR;
        out->n = w->arena.len - out->at;
        return WRITTEN;
    }
    return NOT_HANDLED;
}

static int write_types(Writer *w, PyObject *value, PyObject *types, Term subject)
{
    static const Piece rdf_type = {RDF_TYPE, sizeof RDF_TYPE - 1};
    Py_ssize_t count = 1;
    if (PyList_CheckExact(value))
        count = PyList_GET_SIZE(value);
    else if (!PyUnicode_CheckExact(value))
        return NOT_HANDLED;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *name = PyList_CheckExact(value) ? PyList_GET_ITEM(value, k) : value;
        if (!PyUnicode_CheckExact(name)) return NOT_HANDLED;
        PyObject *found = PyDict_GetItemWithError(types, name);
        if (!found) return PyErr_Occurred() ? ERROR : NOT_HANDLED;
        Piece class_term;
        int status;
        if (!PyUnicode_CheckExact(found)) return NOT_HANDLED;
        if ((status = text_of(found, &class_term))) return status;
        if (add_quad(w, subject, external(&rdf_type), external(&class_term))) return ERROR;
    }
    return WRITTEN;
}

static int write_property(Writer *w, PyObject *value, PyObject *found, Term subject)
{
    Piece predicate, coercion;
    int status;
    if (!PyTuple_CheckExact(found) || PyTuple_GET_SIZE(found) != 2 ||
        !PyUnicode_CheckExact(PyTuple_GET_ITEM(found, 0)) ||
        !PyUnicode_CheckExact(PyTuple_GET_ITEM(found, 1)))
        return NOT_HANDLED;
    if ((status = text_of(PyTuple_GET_ITEM(found, 0), &predicate)) ||
        (status = text_of(PyTuple_GET_ITEM(found, 1), &coercion)))
        return status;
    Py_ssize_t count = PyList_CheckExact(value) ? PyList_GET_SIZE(value) : 1;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *item = PyList_CheckExact(value) ? PyList_GET_ITEM(value, k) : value;
        Term object;
        /* The object first, then the quad: a nested node's quads come before its parent's,
         * as in the Python writer. */
        if ((status = object_term(w, item, &coercion, &object))) return status;
        if (add_quad(w, subject, external(&predicate), object)) return ERROR;
    }
    return WRITTEN;
}

static int write_node(Writer *w, PyObject *node, int top, Term *subject)
{
    PyObject *key, *value, *identifier;
    Py_ssize_t position = 0;
    int status = NOT_HANDLED;
    if (!PyDict_CheckExact(node) || w->depth >= MAX_DEPTH) return NOT_HANDLED;
    w->depth++;
    identifier = PyDict_GetItemWithError(node, id_key);
    if (identifier == NULL && PyErr_Occurred()) {
        status = ERROR;
        goto done;
    }
    if (identifier == NULL || identifier == Py_None) {
        char label[32];
        int n = snprintf(label, sizeof label, "_:b%d", w->blank++);
        subject->ext = NULL;
        subject->at = w->arena.len;
        subject->n = (size_t)n;
        if ((status = put(w, label, (size_t)n))) goto done;
    } else {
        Piece iri;
        status = NOT_HANDLED;
        if (!PyUnicode_CheckExact(identifier)) goto done;
        if ((status = text_of(identifier, &iri)) || (status = iri_term(w, &iri, subject)))
            goto done;
    }
    PyObject *predicates = top ? w->top_predicates : w->predicates;
    PyObject *types = top ? w->top_types : w->types;
    while (PyDict_Next(node, &position, &key, &value)) {
        status = NOT_HANDLED;
        if (!PyUnicode_CheckExact(key)) goto done;
        if (top && (!PyUnicode_CompareWithASCIIString(key, "@context") ||
                    !PyUnicode_CompareWithASCIIString(key, "proof")))
            continue;
        if (!PyUnicode_CompareWithASCIIString(key, "id")) continue;
        if (!PyUnicode_CompareWithASCIIString(key, "type")) {
            if ((status = write_types(w, value, types, *subject))) goto done;
            continue;
        }
        PyObject *found = PyDict_GetItemWithError(predicates, key);
        if (!found) {
            status = PyErr_Occurred() ? ERROR : NOT_HANDLED;
            goto done;
        }
        if ((status = write_property(w, value, found, *subject))) goto done;
    }
    status = WRITTEN;
done:
    w->depth--;
    return status;
}

static Piece resolved(const Writer *w, const Term *t)
{
    Piece p = {t->ext ? t->ext : w->arena.data + t->at, t->n};
    return p;
}

/* A hash of a quad from its terms' lengths and ends only: hashing every byte took a tenth of
 * the whole; quads alike at both ends cost a comparison more, not a wrong answer. */
static size_t quad_hash(const Quad *q)
{
    size_t h = 14695981039346656037u;
    for (int k = 0; k < 3; k++) {
        const Piece *t = &q->term[k];
        uint64_t head = 0, tail = 0;
        memcpy(&head, t->s, t->n < 8 ? t->n : 8);
        if (t->n > 8) memcpy(&tail, t->s + t->n - 8, 8);
        h = (h ^ t->n) * 1099511628211u;
        h = (h ^ head) * 1099511628211u;
        h = (h ^ tail) * 1099511628211u;
        h ^= h >> 29;
    }
    return h;
}

/* The written quads as terms, each distinct quad once, in the order first written. */
static Py_ssize_t distinct_quads(const Writer *w, Quad *out)
{
    size_t size = 8;
    while (size < 2 * w->nquads + 2) size *= 2;
    Py_ssize_t *slots = malloc(size * sizeof *slots), n = 0;
    if (!slots) return -1;
    for (size_t k = 0; k < size; k++) slots[k] = -1;
    for (size_t i = 0; i < w->nquads; i++) {
        Quad *q = &out[n];
        for (int k = 0; k < 3; k++) q->term[k] = resolved(w, &w->quads[i].t[k]);
        size_t at = quad_hash(q) & (size - 1);
        int seen = 0;
        while (slots[at] >= 0) {
            const Quad *other = &out[slots[at]];
            if (piece_eq(&other->term[0], &q->term[0]) && piece_eq(&other->term[1], &q->term[1]) &&
                piece_eq(&other->term[2], &q->term[2])) {
                seen = 1;
                break;
            }
            at = (at + 1) & (size - 1);
        }
        if (!seen) slots[at] = n++;
    }
    free(slots);
    return n;
}

PyObject *canonical_tree(PyObject *module, PyObject *args)
{
    PyObject *node, *out = NULL;
    long max_work;
    Writer w = {0};
    Term subject;
    (void)module;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!l", &node, &PyDict_Type, &w.top_predicates,
                          &PyDict_Type, &w.top_types, &PyDict_Type, &w.predicates, &PyDict_Type,
                          &w.types, &max_work))
        return NULL;
    if (!id_key && !(id_key = PyUnicode_InternFromString("id"))) return NULL;
    int status = write_node(&w, node, 1, &subject);
    if (status == NOT_HANDLED) {
        out = Py_NewRef(Py_None);
    } else if (status == WRITTEN) {
        Quad *quads = malloc((w.nquads + 1) * sizeof *quads);
        Py_ssize_t n = quads ? distinct_quads(&w, quads) : -1;
        if (n < 0)
            PyErr_NoMemory();
        else
            out = canonicalized(quads, n, max_work);
        free(quads);
    } else if (!PyErr_Occurred()) {
        PyErr_NoMemory();
    }
    free(w.arena.data);
    free(w.quads);
    return out;
}
