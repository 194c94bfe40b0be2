/* Whether JSON text may hold an integer beyond 64 bits, in one pass over its bytes.
 *
 * ledger/domain/json_text.py reads JSON with orjson unless the text has a run of 19 digits
 * right after a byte that may precede a number ([ : , space tab newline return -), or
 * starts with 19 digits: orjson would read such an integer as a float. Its Python test maps
 * every byte to a class and searches the copy (2.6 us for a 2 KB event); this answers the
 * same question looking at about one byte in 19. _long_number_by_classes there stays the oracle, and a
 * property test compares the two. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define RUN 19

static int may_precede(unsigned char c)
{
    return c == '[' || c == ':' || c == ',' || c == ' ' || c == '\t' || c == '\n' ||
           c == '\r' || c == '-';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int long_number(const unsigned char *text, Py_ssize_t size)
{
    /* The text's first bytes, all digits (as bytes.isdigit of its first 19 does). */
    Py_ssize_t head = size < RUN ? size : RUN;
    Py_ssize_t i = 0;
    while (i < head && is_digit(text[i]))
        i++;
    if (head > 0 && i == head)
        return 1;
    /* A run of digits counts only when the byte before it may precede a number. Any run of
     * 19 digits holds one of every 19th byte, so only those are looked at until one is a
     * digit; its run is then measured both ways, and the look goes on after it (most text
     * has few digits: about n/19 reads). */
    i = 0;
    while (i < size) {
        if (!is_digit(text[i])) {
            i += RUN;
            continue;
        }
        Py_ssize_t start = i, end = i + 1;
        while (start > 0 && is_digit(text[start - 1]))
            start--;
        while (end < size && is_digit(text[end]))
            end++;
        if (end - start >= RUN && start > 0 && may_precede(text[start - 1]))
            return 1;
        i = end + 1; /* text[end] is not a digit */
    }
    return 0;
}

static PyObject *has_long_number(PyObject *self, PyObject *arg)
{
    (void)self;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "has_long_number takes bytes");
        return NULL;
    }
    const unsigned char *text = (const unsigned char *)PyBytes_AS_STRING(arg);
    if (long_number(text, PyBytes_GET_SIZE(arg)))
        Py_RETURN_TRUE;
    Py_RETURN_FALSE;
}

static PyMethodDef methods[] = {
    {"has_long_number", has_long_number, METH_O,
     "Whether JSON bytes may hold an integer beyond 64 bits (19 digits where a number may "
     "start)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "json_numbers",
    "Whether JSON text may hold an integer beyond 64 bits, in C.", -1, methods,
};

PyMODINIT_FUNC PyInit_json_numbers(void)
{
    return PyModule_Create(&module);
}
