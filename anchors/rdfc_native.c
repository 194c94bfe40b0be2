/* RDFC-1.0 (W3C, 2024) blank node labelling in C, step for step as anchors/rdfc.py does it.
 *
 * The ledger's hashing processes spend half of a document's time labelling its ~20 blank
 * nodes in Python. This module takes the same input (quads of terms already in canonical
 * N-Quads form, duplicates removed) and gives the same bytes; anchors/rdfc.py stays the
 * oracle and property tests compare both on randomised datasets. Terms are compared as UTF-8
 * bytes, whose order is the code point order Python's strings sort by. SHA-256 is OpenSSL's
 * (the library Python's hashlib uses), so the processor's SHA extensions serve both. */

#include "rdfc_native.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define HEX 64 /* a SHA-256 digest in lower-case hex */

static int piece_qsort(const void *a, const void *b)
{
    return piece_cmp((const Piece *)a, (const Piece *)b);
}

/* An identifier issuer (section 4.5): each blank node's number in issue order, or -1. */
typedef struct {
    int *number; /* per blank node */
    int *order;  /* blank nodes in issue order */
    int count;
} Issuer;

static const EVP_MD *sha256_md;

typedef struct {
    Quad *quads;
    Py_ssize_t nquads;
    int nblank;
    Piece *blank_term;   /* per blank node: its term */
    char (*first)[HEX];  /* per blank node: first-degree hash */
    int **mentions;      /* per blank node: quads naming it, in dataset order */
    int *nmentions;
    int *mention_store;  /* what mentions point into */
    Issuer canonical;
    long work, max_work;
    EVP_MD_CTX *md;
    const EVP_MD *sha256;
} Canon;

enum { OK = 0, FAILED = -1, TOO_COMPLEX = -2 };

static Issuer *issuer_new(int nblank)
{
    Issuer *i = malloc(sizeof *i);
    if (!i) return NULL;
    i->number = malloc(sizeof(int) * (nblank ? nblank : 1));
    i->order = malloc(sizeof(int) * (nblank ? nblank : 1));
    if (!i->number || !i->order) {
        free(i->number);
        free(i->order);
        free(i);
        return NULL;
    }
    for (int k = 0; k < nblank; k++) i->number[k] = -1;
    i->count = 0;
    return i;
}

static Issuer *issuer_copy(const Issuer *from, int nblank)
{
    Issuer *i = issuer_new(nblank);
    if (!i) return NULL;
    memcpy(i->number, from->number, sizeof(int) * nblank);
    memcpy(i->order, from->order, sizeof(int) * from->count);
    i->count = from->count;
    return i;
}

static void issuer_free(Issuer *i)
{
    if (!i) return;
    free(i->number);
    free(i->order);
    free(i);
}

static int issue(Issuer *i, int node)
{
    if (i->number[node] < 0) {
        i->number[node] = i->count;
        i->order[i->count++] = node;
    }
    return i->number[node];
}

/* "_:" + prefix + number, into out (at least 32 bytes); its length. By hand: snprintf took a
 * tenth of the time. */
static size_t label_text(char *out, const char *prefix, int number)
{
    char digits[12];
    size_t n = 0, at = 0;
    out[at++] = '_';
    out[at++] = ':';
    while (*prefix) out[at++] = *prefix++;
    do {
        digits[n++] = (char)('0' + number % 10);
        number /= 10;
    } while (number);
    while (n) out[at++] = digits[--n];
    return at;
}

static int sha256_hex(Canon *c, const Piece *pieces, size_t n, char out[HEX])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char digest[32];
    if (!EVP_DigestInit_ex(c->md, c->sha256, NULL)) return FAILED;
    for (size_t k = 0; k < n; k++)
        if (pieces[k].n && !EVP_DigestUpdate(c->md, pieces[k].s, pieces[k].n)) return FAILED;
    if (!EVP_DigestFinal_ex(c->md, digest, NULL)) return FAILED;
    for (int k = 0; k < 32; k++) {
        out[2 * k] = digits[digest[k] >> 4];
        out[2 * k + 1] = digits[digest[k] & 15];
    }
    return OK;
}

/* Section 4.6: each blank node's first-degree hash, its quads' lines sorted. */
static int first_degree(Canon *c)
{
    static const Piece a = {"_:a", 3}, z = {"_:z", 3}, space = {" ", 1}, end = {" .\n", 3};
    int status = FAILED;
    Buf line = {0};
    size_t most = 0;
    for (int b = 0; b < c->nblank; b++)
        if ((size_t)c->nmentions[b] > most) most = (size_t)c->nmentions[b];
    size_t *starts = malloc(sizeof(size_t) * (most + 1));
    Piece *lines = malloc(sizeof(Piece) * (most + 1));
    if (!starts || !lines) goto done;
    for (int b = 0; b < c->nblank; b++) {
        line.len = 0;
        for (int m = 0; m < c->nmentions[b]; m++) {
            const Quad *q = &c->quads[c->mentions[b][m]];
            const Piece *s = q->blank[0] == b ? &a : q->blank[0] >= 0 ? &z : &q->term[0];
            const Piece *o = q->blank[1] == b ? &a : q->blank[1] >= 0 ? &z : &q->term[2];
            starts[m] = line.len;
            if (buf_put(&line, s->s, s->n) || buf_put(&line, space.s, space.n) ||
                buf_put(&line, q->term[1].s, q->term[1].n) || buf_put(&line, space.s, space.n) ||
                buf_put(&line, o->s, o->n) || buf_put(&line, end.s, end.n))
                goto done;
        }
        for (int m = 0; m < c->nmentions[b]; m++) {
            size_t stop = m + 1 < c->nmentions[b] ? starts[m + 1] : line.len;
            lines[m].s = line.data + starts[m];
            lines[m].n = stop - starts[m];
        }
        qsort(lines, (size_t)c->nmentions[b], sizeof(Piece), piece_qsort);
        if (sha256_hex(c, lines, (size_t)c->nmentions[b], c->first[b])) goto done;
    }
    status = OK;
done:
    free(line.data);
    free(starts);
    free(lines);
    return status;
}

/* Section 4.7: the hash of a related blank node as seen from one of node's quads. */
static int related_hash(Canon *c, int related, const Piece *predicate, const Issuer *issuer,
                        const char *position, char out[HEX])
{
    char label[32];
    Piece parts[3] = {{position, 1}, *predicate, {NULL, 0}};
    if (c->canonical.number[related] >= 0) {
        parts[2].s = label;
        parts[2].n = label_text(label, "c14n", c->canonical.number[related]);
    } else if (issuer->number[related] >= 0) {
        parts[2].s = label;
        parts[2].n = label_text(label, "b", issuer->number[related]);
    } else {
        parts[2].s = c->first[related];
        parts[2].n = HEX;
    }
    return sha256_hex(c, parts, 3, out);
}

typedef struct {
    char hash[HEX];
    int node;
    int seen; /* order found in, for a stable sort */
} Related;

static int related_cmp(const void *x, const void *y)
{
    const Related *a = x, *b = y;
    int c = memcmp(a->hash, b->hash, HEX);
    return c ? c : (a->seen > b->seen) - (a->seen < b->seen);
}

static int n_degree(Canon *c, int node, const Issuer *issuer, char out[HEX], Issuer **result);

/* Whether path, grown past chosen's length, can no longer be less than it. */
static int beyond(const Buf *path, const Buf *chosen)
{
    if (!chosen->len || path->len < chosen->len) return 0;
    Piece p = {path->data, path->len}, q = {chosen->data, chosen->len};
    return piece_cmp(&p, &q) > 0;
}

/* Section 4.8.3, steps 5.4.1 to 5.4.5: one permutation's path into *path, its issuer into
 * *result; *result is NULL when the path cannot be less than chosen. Takes issuer. */
static int path_of(Canon *c, const int *permutation, int k, Issuer *issuer, const Buf *chosen,
                   Buf *path, Issuer **result)
{
    char label[32];
    int *recursion = malloc(sizeof(int) * (size_t)(k ? k : 1));
    int nrecursion = 0, status = FAILED;
    *result = NULL;
    path->len = 0;
    if (!recursion) goto done;
    for (int j = 0; j < k; j++) {
        int related = permutation[j];
        size_t n;
        if (c->canonical.number[related] >= 0) {
            n = label_text(label, "c14n", c->canonical.number[related]);
        } else {
            if (issuer->number[related] < 0) recursion[nrecursion++] = related;
            n = label_text(label, "b", issue(issuer, related));
        }
        if (buf_put(path, label, n)) goto done;
        if (beyond(path, chosen)) {
            status = OK;
            goto done;
        }
    }
    for (int j = 0; j < nrecursion; j++) {
        char digest[HEX];
        Issuer *next = NULL;
        int related = recursion[j];
        status = n_degree(c, related, issuer, digest, &next);
        if (status) goto done;
        status = FAILED;
        size_t n = label_text(label, "b", issue(issuer, related));
        issuer_free(issuer);
        issuer = next;
        if (buf_put(path, label, n) || buf_put(path, "<", 1) || buf_put(path, digest, HEX) ||
            buf_put(path, ">", 1))
            goto done;
        if (beyond(path, chosen)) {
            status = OK;
            goto done;
        }
    }
    *result = issuer;
    issuer = NULL;
    status = OK;
done:
    issuer_free(issuer);
    free(recursion);
    return status;
}

/* The next permutation of indices in lexicographic order (itertools.permutations' order);
 * 0 after the last. */
static int next_permutation(int *p, int k)
{
    int i = k - 2;
    while (i >= 0 && p[i] >= p[i + 1]) i--;
    if (i < 0) return 0;
    int j = k - 1;
    while (p[j] <= p[i]) j--;
    int t = p[i];
    p[i] = p[j];
    p[j] = t;
    for (int l = i + 1, r = k - 1; l < r; l++, r--) {
        t = p[l];
        p[l] = p[r];
        p[r] = t;
    }
    return 1;
}

static int spend(Canon *c)
{
    return ++c->work > c->max_work ? TOO_COMPLEX : OK;
}

/* Section 4.8: the hash of node through the paths to its related blank nodes, into out, and
 * the issuer it leaves, into *result (a new issuer; issuer is not changed). */
static int n_degree(Canon *c, int node, const Issuer *issuer, char out[HEX], Issuer **result)
{
    int status = spend(c);
    if (status) return status;
    status = FAILED;
    int count = 0, *indices = NULL, *permutation = NULL;
    Related *related = malloc(sizeof(Related) * (size_t)(2 * c->nmentions[node] + 1));
    Buf chosen = {0}, path = {0}, joined = {0};
    Issuer *current = NULL, *chosen_issuer = NULL;
    *result = NULL;
    if (!related) goto done;
    for (int m = 0; m < c->nmentions[node]; m++) {
        const Quad *q = &c->quads[c->mentions[node][m]];
        static const char *positions[2] = {"s", "o"};
        for (int side = 0; side < 2; side++) {
            int other = q->blank[side];
            if (other < 0 || other == node) continue;
            if (related_hash(c, other, &q->term[1], issuer, positions[side], related[count].hash))
                goto done;
            related[count].node = other;
            related[count].seen = count;
            count++;
        }
    }
    qsort(related, (size_t)count, sizeof(Related), related_cmp);
    indices = malloc(sizeof(int) * (size_t)(count ? count : 1));
    permutation = malloc(sizeof(int) * (size_t)(count ? count : 1));
    if (!indices || !permutation) goto done;
    current = issuer_copy(issuer, c->nblank);
    if (!current) goto done;
    for (int start = 0; start < count;) {
        int k = 1;
        while (start + k < count && !memcmp(related[start].hash, related[start + k].hash, HEX))
            k++;
        if (buf_put(&joined, related[start].hash, HEX)) goto done;
        chosen.len = 0;
        for (int j = 0; j < k; j++) indices[j] = j;
        do {
            if ((status = spend(c))) goto done;
            status = FAILED;
            for (int j = 0; j < k; j++) permutation[j] = related[start + indices[j]].node;
            Issuer *copy = issuer_copy(current, c->nblank), *found = NULL;
            if (!copy) goto done;
            if ((status = path_of(c, permutation, k, copy, &chosen, &path, &found))) goto done;
            status = FAILED;
            if (found) {
                Piece p = {path.data, path.len}, q = {chosen.data, chosen.len};
                if (!chosen.len || piece_cmp(&p, &q) < 0) {
                    chosen.len = 0;
                    if (buf_put(&chosen, path.data, path.len)) {
                        issuer_free(found);
                        goto done;
                    }
                    issuer_free(chosen_issuer);
                    chosen_issuer = found;
                } else {
                    issuer_free(found);
                }
            }
        } while (next_permutation(indices, k));
        if (buf_put(&joined, chosen.data ? chosen.data : "", chosen.len)) goto done;
        issuer_free(current);
        current = chosen_issuer;
        chosen_issuer = NULL;
        start += k;
    }
    {
        Piece all = {joined.data ? joined.data : "", joined.len};
        if (sha256_hex(c, &all, 1, out)) goto done;
    }
    *result = current;
    current = NULL;
    status = OK;
done:
    issuer_free(current);
    issuer_free(chosen_issuer);
    free(related);
    free(indices);
    free(permutation);
    free(chosen.data);
    free(path.data);
    free(joined.data);
    return status;
}

typedef struct {
    char hash[HEX];
    int node;
    Issuer *issuer;
} Result;

static Canon *sorting; /* the canonicalization the qsort below reads (the GIL is held) */

static int first_hash_cmp(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    int c = memcmp(sorting->first[a], sorting->first[b], HEX);
    return c ? c : (a > b) - (a < b);
}

static int result_cmp(const void *x, const void *y)
{
    const Result *a = x, *b = y;
    int c = memcmp(a->hash, b->hash, HEX);
    return c ? c : (a->node > b->node) - (a->node < b->node);
}

/* Section 4.4.3, steps 3 to 5: every blank node's canonical label. */
static int label_all(Canon *c)
{
    int status = FAILED;
    int *nodes = malloc(sizeof(int) * (size_t)(c->nblank ? c->nblank : 1));
    Result *results = malloc(sizeof(Result) * (size_t)(c->nblank ? c->nblank : 1));
    int nresults = 0;
    if (!nodes || !results) goto done;
    /* Blank nodes are numbered in the order Python's dict first saw them, so (hash, number)
     * is the order of the Python code's groups and of the nodes within each. */
    for (int b = 0; b < c->nblank; b++) nodes[b] = b;
    sorting = c;
    qsort(nodes, (size_t)c->nblank, sizeof(int), first_hash_cmp);
    for (int pass = 0; pass < 2; pass++) {
        for (int start = 0; start < c->nblank;) {
            int k = 1;
            while (start + k < c->nblank &&
                   !memcmp(c->first[nodes[start]], c->first[nodes[start + k]], HEX))
                k++;
            if (pass == 0 && k == 1) issue(&c->canonical, nodes[start]);
            if (pass == 1 && k > 1) {
                nresults = 0;
                for (int j = 0; j < k; j++) {
                    int node = nodes[start + j];
                    if (c->canonical.number[node] >= 0) continue;
                    Issuer *own = issuer_new(c->nblank);
                    if (!own) goto done;
                    issue(own, node);
                    Result *r = &results[nresults];
                    r->node = nresults;
                    r->issuer = NULL;
                    status = n_degree(c, node, own, r->hash, &r->issuer);
                    issuer_free(own);
                    if (status) goto done;
                    status = FAILED;
                    nresults++;
                }
                qsort(results, (size_t)nresults, sizeof(Result), result_cmp);
                for (int j = 0; j < nresults; j++) {
                    for (int l = 0; l < results[j].issuer->count; l++)
                        issue(&c->canonical, results[j].issuer->order[l]);
                    issuer_free(results[j].issuer);
                    results[j].issuer = NULL;
                }
                nresults = 0;
            }
            start += k;
        }
    }
    status = OK;
done:
    for (int j = 0; results && j < nresults; j++) issuer_free(results[j].issuer);
    free(nodes);
    free(results);
    return status;
}

static size_t term_hash(const char *s, size_t n)
{
    size_t h = 14695981039346656037u;
    for (size_t k = 0; k < n; k++) h = (h ^ (unsigned char)s[k]) * 1099511628211u;
    return h;
}

typedef struct {
    int *slots; /* blank node number + 1, or 0 */
    size_t mask;
} Blanks;

/* The blank node a term names, numbered in the order first seen. */
static int blank_of(Canon *c, Blanks *t, const Piece *term)
{
    size_t at = term_hash(term->s, term->n) & t->mask;
    while (t->slots[at]) {
        const Piece *seen = &c->blank_term[t->slots[at] - 1];
        if (seen->n == term->n && !memcmp(seen->s, term->s, term->n)) return t->slots[at] - 1;
        at = (at + 1) & t->mask;
    }
    c->blank_term[c->nblank] = *term;
    t->slots[at] = ++c->nblank;
    return c->nblank - 1;
}

/* Each quad's terms, as UTF-8 in the list's str objects (alive while the list is). */
static int read_quads(PyObject *list, Quad *quads)
{
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        PyObject *tuple = PyList_GET_ITEM(list, i);
        Quad *q = &quads[i];
        if (!PyTuple_Check(tuple) || PyTuple_GET_SIZE(tuple) != 3) {
            PyErr_SetString(PyExc_TypeError, "a quad is a tuple of three terms");
            return FAILED;
        }
        for (int k = 0; k < 3; k++) {
            PyObject *item = PyTuple_GET_ITEM(tuple, k);
            Py_ssize_t n;
            if (!PyUnicode_Check(item)) {
                PyErr_SetString(PyExc_TypeError, "a term is a str");
                return FAILED;
            }
            q->term[k].s = PyUnicode_AsUTF8AndSize(item, &n);
            if (!q->term[k].s) return FAILED; /* a lone surrogate: UnicodeEncodeError */
            q->term[k].n = (size_t)n;
            if (!n || (q->term[k].s[0] == '_' && (n < 2 || q->term[k].s[1] != ':'))) {
                PyErr_SetString(PyExc_ValueError, "a term is not in canonical N-Quads form");
                return FAILED;
            }
        }
    }
    return OK;
}

/* Blank nodes numbered in the order Python's dicts first see them: a quad's object, then its
 * subject. */
static void number_blanks(Canon *c, Blanks *blanks)
{
    for (Py_ssize_t i = 0; i < c->nquads; i++) {
        Quad *q = &c->quads[i];
        q->blank[0] = q->blank[1] = -1;
        if (q->term[2].s[0] == '_') q->blank[1] = blank_of(c, blanks, &q->term[2]);
        if (q->term[0].s[0] == '_') q->blank[0] = blank_of(c, blanks, &q->term[0]);
    }
}

static int index_mentions(Canon *c)
{
    int *all = c->mention_store = malloc(sizeof(int) * (size_t)(2 * c->nquads + 1));
    c->nmentions = calloc((size_t)(c->nblank + 1), sizeof(int));
    c->mentions = malloc(sizeof(int *) * (size_t)(c->nblank + 1));
    if (!all || !c->nmentions || !c->mentions) return FAILED;
    for (Py_ssize_t i = 0; i < c->nquads; i++) {
        const Quad *q = &c->quads[i];
        if (q->blank[0] >= 0) c->nmentions[q->blank[0]]++;
        if (q->blank[1] >= 0 && q->blank[1] != q->blank[0]) c->nmentions[q->blank[1]]++;
    }
    int used = 0;
    for (int b = 0; b < c->nblank; b++) {
        c->mentions[b] = all + used;
        used += c->nmentions[b];
        c->nmentions[b] = 0;
    }
    for (Py_ssize_t i = 0; i < c->nquads; i++) {
        const Quad *q = &c->quads[i];
        if (q->blank[0] >= 0) c->mentions[q->blank[0]][c->nmentions[q->blank[0]]++] = (int)i;
        if (q->blank[1] >= 0 && q->blank[1] != q->blank[0])
            c->mentions[q->blank[1]][c->nmentions[q->blank[1]]++] = (int)i;
    }
    return OK;
}

/* The sorted lines of the dataset, blank nodes by their canonical labels. */
static PyObject *serialised(Canon *c)
{
    PyObject *out = NULL;
    Buf text = {0};
    size_t *starts = malloc(sizeof(size_t) * (size_t)(c->nquads + 1));
    Piece *lines = malloc(sizeof(Piece) * (size_t)(c->nquads + 1));
    if (!starts || !lines) goto done;
    for (Py_ssize_t i = 0; i < c->nquads; i++) {
        const Quad *q = &c->quads[i];
        starts[i] = text.len;
        for (int k = 0; k < 3; k++) {
            int blank = k == 0 ? q->blank[0] : k == 2 ? q->blank[1] : -1;
            if (blank >= 0 && c->canonical.number[blank] >= 0) {
                char label[32];
                size_t n = label_text(label, "c14n", c->canonical.number[blank]);
                if (buf_put(&text, label, n)) goto done;
            } else if (buf_put(&text, q->term[k].s, q->term[k].n)) {
                goto done;
            }
            if (buf_put(&text, k < 2 ? " " : " .\n", k < 2 ? 1 : 3)) goto done;
        }
    }
    for (Py_ssize_t i = 0; i < c->nquads; i++) {
        size_t stop = i + 1 < c->nquads ? starts[i + 1] : text.len;
        lines[i].s = text.data + starts[i];
        lines[i].n = stop - starts[i];
    }
    qsort(lines, (size_t)c->nquads, sizeof(Piece), piece_qsort);
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)text.len);
    if (!out) goto done;
    char *at = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < c->nquads; i++) {
        memcpy(at, lines[i].s, lines[i].n);
        at += lines[i].n;
    }
done:
    free(text.data);
    free(starts);
    free(lines);
    return out;
}

PyObject *canonicalized(Quad *quads, Py_ssize_t n, long max_work)
{
    PyObject *out = NULL;
    Canon c = {0};
    Blanks blanks = {0};
    int status = FAILED;
    c.quads = quads;
    c.nquads = n;
    c.max_work = max_work;
    c.sha256 = sha256_md;
    size_t size = 8;
    while (size < 4 * (size_t)n + 4) size *= 2;
    blanks.mask = size - 1;
    blanks.slots = calloc(size, sizeof(int));
    c.blank_term = malloc(sizeof(Piece) * (size_t)(2 * n + 1));
    c.md = EVP_MD_CTX_new();
    if (!blanks.slots || !c.blank_term || !c.md) goto done;
    number_blanks(&c, &blanks);
    c.first = malloc(sizeof *c.first * (size_t)(c.nblank + 1));
    Issuer *canonical = issuer_new(c.nblank);
    if (!c.first || !canonical) {
        issuer_free(canonical);
        goto done;
    }
    c.canonical = *canonical;
    free(canonical);
    if (index_mentions(&c) || first_degree(&c)) goto done;
    status = label_all(&c);
    if (status == TOO_COMPLEX) {
        out = Py_NewRef(Py_None);
        goto cleanup;
    }
    if (status) goto done;
    out = serialised(&c);
    goto cleanup;
done:
    if (!PyErr_Occurred()) PyErr_NoMemory(); /* every other failure is an allocation's */
cleanup:
    free(blanks.slots);
    free(c.blank_term);
    free(c.first);
    free(c.mention_store);
    free(c.mentions);
    free(c.nmentions);
    free(c.canonical.number);
    free(c.canonical.order);
    EVP_MD_CTX_free(c.md);
    return out;
}

static PyObject *canonical_nquads(PyObject *module, PyObject *args)
{
    PyObject *list, *out = NULL;
    long max_work;
    (void)module;
    if (!PyArg_ParseTuple(args, "O!l", &PyList_Type, &list, &max_work)) return NULL;
    Quad *quads = malloc(sizeof(Quad) * (size_t)(PyList_GET_SIZE(list) + 1));
    if (!quads) return PyErr_NoMemory();
    if (!read_quads(list, quads)) out = canonicalized(quads, PyList_GET_SIZE(list), max_work);
    free(quads);
    return out;
}

static PyMethodDef methods[] = {
    {"canonical_nquads", canonical_nquads, METH_VARARGS,
     "canonical_nquads(quads, max_work) -> bytes | None\n\n"
     "The canonical N-Quads (UTF-8) of distinct quads of canonical N-Quads terms, blank nodes "
     "labelled by RDFC-1.0; None if labelling would take more than max_work steps."},
    {"canonical_tree", canonical_tree, METH_VARARGS,
     "canonical_tree(node, top_predicates, top_types, predicates, types, max_work) -> bytes | "
     "None\n\n"
     "The canonical N-Quads (UTF-8) of a JSON node tree whose terms the tables give (term -> "
     "(predicate term, coercion); type name -> class term); None if the tree is not plainly of "
     "that shape or too complex to label, for the Python writer to decide."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "rdfc_native",
    "RDFC-1.0 blank node labelling in C, as anchors.rdfc does it in Python.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_rdfc_native(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!sha256_md) {
        PyErr_SetString(PyExc_ImportError, "OpenSSL has no SHA-256");
        return NULL;
    }
    return PyModule_Create(&module);
}
