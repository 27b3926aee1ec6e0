/* This file caps the attributes of each start tag of an HTML body (html_attrs.h), reading the
 * tags as libxml2 2.9.14's HTML parser does (HTMLparser.c: htmlParseStartTag,
 * htmlParseAttribute, htmlParseHTMLName, htmlParseAttValue). */
#include "html_attrs.h"

#include <stdbool.h>
#include <string.h>

/* libxml2 reads a name into a buffer of this many characters (HTML_PARSER_BUFFER_SIZE). */
#define HTML_NAME_MAX 100

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A character of a name; start: one a name may start with. */
static bool
is_name_char(char c, bool start)
{
    if (is_letter(c) || c == '_' || c == ':' || c == '.')
        return true;
    return !start && ((c >= '0' && c <= '9') || c == '-');
}

static bool
is_tag_end(const char *s, size_t n, size_t i)
{
    return i >= n || s[i] == '>' || (s[i] == '/' && i + 1 < n && s[i + 1] == '>');
}

/* Where the name at s[i] ends. */
static size_t
name_end(const char *s, size_t n, size_t i)
{
    size_t end = n - i > HTML_NAME_MAX ? i + HTML_NAME_MAX : n;
    while (i < end && is_name_char(s[i], false))
        i++;
    return i;
}

/* Where the attribute, or bogus text, that starts at s[i] (no blank, not the tag's end) ends. */
static size_t
attr_end(const char *s, size_t n, size_t i)
{
    if (!is_name_char(s[i], true)) {
        while (!is_tag_end(s, n, i) && !is_blank(s[i]))
            i++;
        return i;
    }
    i = name_end(s, n, i);
    size_t j = i;
    while (j < n && is_blank(s[j]))
        j++;
    if (j >= n || s[j] != '=')
        return i;
    for (j++; j < n && is_blank(s[j]); j++)
        ;
    if (j < n && (s[j] == '"' || s[j] == '\'')) {
        const char *q = memchr(s + j + 1, s[j], n - j - 1);
        return q ? (size_t)(q - s) + 1 : n;
    }
    while (j < n && !is_blank(s[j]) && s[j] != '>')
        j++;
    return j;
}

/* Reads the start tag whose name starts at s[i]: returns where it ends (its '>' or "/>", or n),
 * and sets *cut to where its attributes past HTML_TAG_ATTRS_MAX start (its end if none). */
static size_t
tag_end(const char *s, size_t n, size_t i, size_t *cut)
{
    int count = 0;
    *cut = 0;
    for (i = name_end(s, n, i);; i = attr_end(s, n, i)) {
        while (i < n && is_blank(s[i]))
            i++;
        if (is_tag_end(s, n, i))
            break;
        if (++count > HTML_TAG_ATTRS_MAX && *cut == 0)
            *cut = i;
    }
    if (*cut == 0)
        *cut = i;
    return i;
}

size_t
html_attrs_cap(char *s, size_t n)
{
    size_t r = 0, w = 0;
    while (r < n) {
        const char *lt = memchr(s + r, '<', n - r);
        size_t at = lt ? (size_t)(lt - s) + 1 : n;
        memmove(s + w, s + r, at - r);
        w += at - r;
        r = at;
        if (r >= n || !is_letter(s[r]))
            continue;
        size_t cut, end = tag_end(s, n, r, &cut);
        memmove(s + w, s + r, cut - r);
        w += cut - r;
        r = end;
    }
    return w;
}
