/* What the two halves of anchors.rdfc_native share: byte strings, quads of N-Quads terms and
 * the canonicalization of such quads. */
#ifndef RDFC_NATIVE_H
#define RDFC_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len, cap;
} Buf;

static inline int buf_put(Buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

typedef struct {
    const char *s;
    size_t n;
} Piece;

static inline int piece_cmp(const Piece *a, const Piece *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->s, b->s, n);
    if (c) return c;
    return (a->n > b->n) - (a->n < b->n);
}

static inline int piece_eq(const Piece *a, const Piece *b)
{
    return a->n == b->n && !memcmp(a->s, b->s, a->n);
}

typedef struct {
    Piece term[3];
    int blank[2]; /* subject's and object's blank node, or -1 */
} Quad;

/* The canonical N-Quads (bytes) of n distinct quads whose terms are set (in canonical N-Quads
 * form, a blank node's starting "_:"); Py_None if labelling would take more than max_work
 * steps; NULL with an exception set on failure. */
PyObject *canonicalized(Quad *quads, Py_ssize_t n, long max_work);

/* canonical_tree(node, top_predicates, top_types, predicates, types, max_work) for Python. */
PyObject *canonical_tree(PyObject *module, PyObject *args);

#endif
