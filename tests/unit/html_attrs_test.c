/* Unit tests for jobs/html_attrs.c: what html_attrs_cap keeps of start tags with more than
 * HTML_TAG_ATTRS_MAX attributes, read as libxml2 2.9.14 reads them (quoted values holding '>' or
 * blanks, names past 100 characters, bogus text), and that it leaves everything else alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "html_attrs.h"
#include "util.h"

/* html_attrs_cap of in, as a new string. */
static char *
capped(const char *in)
{
    char *s = xstrdup(in);
    s[html_attrs_cap(s, strlen(s))] = '\0';
    return s;
}

/* head, then n times item, then tail. */
static char *
repeat(const char *head, const char *item, int n, const char *tail)
{
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, head);
    for (int i = 0; i < n; i++)
        buf_appends(&b, item);
    buf_appends(&b, tail);
    return buf_detach(&b);
}

static void
expect(const char *in, const char *want)
{
    char *got = capped(in);
    assert_string_equal(got, want);
    free(got);
}

static void
test_untouched(void **state)
{
    (void)state;
    char *many = repeat("<p", " a", HTML_TAG_ATTRS_MAX, ">x</p>");
    expect(many, many);
    free(many);
    /* No start tags: end tags, comments, a '<' before no letter. */
    char *end = repeat("</p", " a", 400, ">");
    expect(end, end);
    free(end);
    char *lt = repeat("a < b", " c", 400, " > d");
    expect(lt, lt);
    free(lt);
    expect("", "");
    expect("<", "<");
    expect("<p", "<p");
}

static void
test_cut(void **state)
{
    (void)state;
    char *in = repeat("<p", " a", HTML_TAG_ATTRS_MAX + 44, ">x</p>");
    char *want = repeat("<p", " a", HTML_TAG_ATTRS_MAX, " >x</p>");
    expect(in, want);
    free(in);
    free(want);
    /* "/>" ends a tag too; so does the end of the input. */
    in = repeat("<br", " a", HTML_TAG_ATTRS_MAX + 1, "/>y");
    want = repeat("<br", " a", HTML_TAG_ATTRS_MAX, " />y");
    expect(in, want);
    free(in);
    free(want);
    in = repeat("<p", " a", HTML_TAG_ATTRS_MAX + 1, "");
    want = repeat("<p", " a", HTML_TAG_ATTRS_MAX, " ");
    expect(in, want);
    free(in);
    free(want);
}

/* A '>' or a blank inside a quoted value is the value's; the quote counts only right after the
 * '='. A value with no quote runs to a blank or '>'. */
static void
test_values(void **state)
{
    (void)state;
    char *in = repeat("<p", " v=\"> >\" w='>' u=a\"b", HTML_TAG_ATTRS_MAX, " x=\">\">t");
    char *want = repeat("<p", " v=\"> >\" w='>' u=a\"b", HTML_TAG_ATTRS_MAX / 3, "");
    /* 85 items of three attributes are 255; the 256th is the next item's first. */
    char *w2 = repeat(want, " v=\"> >\"", 1, " >t");
    expect(in, w2);
    free(in);
    free(want);
    free(w2);
    /* An unclosed quote runs to the end: the tag never ends, and no later tag starts. */
    char *later = repeat("<q", " a", HTML_TAG_ATTRS_MAX + 44, ">");
    in = repeat("<p", " a", HTML_TAG_ATTRS_MAX - 1, " b=\"> c >d");
    w2 = repeat(in, later, 1, "");
    expect(w2, w2);
    free(in);
    free(w2);
    free(later);
}

/* A name of more than 100 characters is several to libxml2; text that is no name is one bogus
 * attribute up to a blank or the tag's end, and counts. */
static void
test_names(void **state)
{
    (void)state;
    char *name = repeat("", "a", 100 * (HTML_TAG_ATTRS_MAX + 1), "");
    char *in = repeat("<p ", name, 1, ">x");
    name[100 * HTML_TAG_ATTRS_MAX] = '\0';
    char *want = repeat("<p ", name, 1, ">x");
    expect(in, want);
    free(in);
    free(want);
    free(name);
    in = repeat("<p", " 1\"x", HTML_TAG_ATTRS_MAX + 1, ">x");
    want = repeat("<p", " 1\"x", HTML_TAG_ATTRS_MAX, " >x");
    expect(in, want);
    free(in);
    free(want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untouched),
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
