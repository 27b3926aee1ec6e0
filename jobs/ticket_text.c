/* This file contains the ticket sync's pure helpers: HTML to text over libxml2's HTML parser,
 * time_spent parsing, status and priority words and total hours (rules in ticket_text.h). */
#include "ticket_text.h"
#include "html_attrs.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "util.h"

/* --- Input: valid UTF-8 for the parser --- */

/* How many of the input's first n bytes rule 1 keeps: those before the '<' after the first
 * TICKET_HTML_MAX_TAGS. Each '<' adds at most an element or a comment and a text node to the
 * tree, and each end tag searches the open elements, so this bounds the tree's nodes and the
 * parser's time on end tags (quadratic: 8 MiB of "x<b></i>" took 575 s). */
static size_t
markup_cap(const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    for (size_t seen = 0; (p = memchr(p, '<', (size_t)(end - p))) != NULL; p++)
        if (++seen > TICKET_HTML_MAX_TAGS)
            return (size_t)(p - s);
    return n;
}

static void
put_replacement(struct buf *b)
{
    buf_append(b, "\xef\xbf\xbd", 3);
}

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is invalid, with
 * *skip set to the length of its maximal invalid subpart (Unicode's "best practice", which
 * Python's "replace" error handler follows). */
static size_t
utf8_seq(const unsigned char *s, size_t n, size_t *skip)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        *skip = 1;
        return 0;
    }
    size_t i = 1;
    for (; i < need && i < n; i++) {
        unsigned char x = s[i];
        unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xbf;
        if (x < l || x > h)
            break;
    }
    if (i == need)
        return need;
    *skip = i;
    return 0;
}

/* Copies the input into b as valid UTF-8 that libxml2 takes without complaint, without CDATA
 * sections (rules 1 and 3). */
static void
sanitize_input(struct buf *b, const unsigned char *s, size_t n)
{
    static const char cdata_open[] = "<![CDATA[";
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c == '<' && n - i >= sizeof(cdata_open) - 1 &&
            memcmp(s + i, cdata_open, sizeof(cdata_open) - 1) == 0) {
            /* libxml2 would show a CDATA section as text; HTML gives it no text at all. */
            const unsigned char *end = memmem(s + i, n - i, "]]>", 3);
            i = end != NULL ? (size_t)(end - s) + 3 : n;
            continue;
        }
        if (c < 0x80) {
            if (c == '\f')
                buf_append(b, " ", 1);
            else if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r')
                buf_append(b, &s[i], 1);
            i++;
            continue;
        }
        size_t skip = 0, len = utf8_seq(s + i, n - i, &skip);
        if (len == 0) {
            put_replacement(b);
            i += skip;
            continue;
        }
        /* U+FFFE and U+FFFF are not XML characters; libxml2 would drop them silently. */
        bool nonchar = len == 3 && c == 0xef && s[i + 1] == 0xbf && s[i + 2] >= 0xbe;
        if (!nonchar)
            buf_append(b, &s[i], len);
        i += len;
    }
}

/* --- Output: lines --- */

struct text_out {
    struct buf out;     /* finished lines, joined by "\n" */
    struct buf line;    /* the line being written */
    bool pending_space; /* whitespace seen since the last character written on the line */
    bool after_sep;     /* a cell separator was the last thing written */
    bool li_prefix;     /* an li opened and its "- " is not written yet */
    bool blank_pending; /* a blank line goes before the next non-blank line */
};

/* Ends the current line, even an empty one (rule 9 applies here). */
static void
line_end(struct text_out *t)
{
    size_t a = 0, z = t->line.len;
    while (a < z && t->line.data[a] == ' ')
        a++;
    while (z > a && t->line.data[z - 1] == ' ')
        z--;
    if (a == z) {
        /* Blank lines before the first text are dropped; runs become one. */
        if (t->out.len > 0)
            t->blank_pending = true;
    } else {
        if (t->out.len > 0)
            buf_append(&t->out, t->blank_pending ? "\n\n" : "\n", t->blank_pending ? 2 : 1);
        buf_append(&t->out, t->line.data + a, z - a);
        t->blank_pending = false;
    }
    buf_reset(&t->line);
    t->pending_space = false;
    t->after_sep = false;
}

/* Starts a new line unless the current one is empty (rule 5). A pending "- " is kept for the
 * item's first text. */
static void
line_ensure(struct text_out *t)
{
    if (t->line.len > 0)
        line_end(t);
    t->pending_space = false;
    t->after_sep = false;
}

/* Writes what must precede a character: the item's "- ", or one collapsed space. */
static void
before_char(struct text_out *t)
{
    if (t->li_prefix) {
        buf_append(&t->line, "- ", 2);
        t->li_prefix = false;
        t->pending_space = false;
    } else if (t->pending_space) {
        buf_append(&t->line, " ", 1);
        t->pending_space = false;
    }
    t->after_sep = false;
}

static void
whitespace(struct text_out *t)
{
    if (t->line.len > 0 && !t->after_sep)
        t->pending_space = true;
}

/* Appends a text node's UTF-8 (valid: the parser was given valid input) under rule 4. */
static void
put_text(struct text_out *t, const unsigned char *s)
{
    size_t i = 0;
    while (s[i] != '\0') {
        unsigned char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
            whitespace(t);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            i++;
        } else if (c == 0xc2 && s[i + 1] == 0xa0) {
            whitespace(t);
            i += 2;
        } else if (c == 0xc2 && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f) {
            i += 2;
        } else {
            /* A whole character: its lead byte, then any continuation bytes. */
            before_char(t);
            size_t j = i + 1;
            while ((s[j] & 0xc0) == 0x80)
                j++;
            buf_append(&t->line, s + i, j - i);
            i = j;
        }
    }
}

/* --- The walk --- */

static bool
name_is(const xmlNode *n, const char *name)
{
    return n->name != NULL && strcmp((const char *)n->name, name) == 0;
}

static bool
is_skipped(const xmlNode *n)
{
    return name_is(n, "script") || name_is(n, "style") || name_is(n, "head");
}

static bool
is_block(const xmlNode *n)
{
    static const char *const blocks[] = {"p",  "div",        "li",  "tr", "table", "h1",
                                         "h2", "h3",         "h4",  "h5", "h6",    "ul",
                                         "ol", "blockquote", "pre", "hr"};
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
        if (name_is(n, blocks[i]))
            return true;
    return false;
}

static bool
is_cell(const xmlNode *n)
{
    return n->type == XML_ELEMENT_NODE && (name_is(n, "td") || name_is(n, "th"));
}

/* Acts on entering n; returns whether its children are to be visited. */
static bool
node_enter(struct text_out *t, const xmlNode *n)
{
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        if (n->content != NULL)
            put_text(t, n->content);
        return false;
    }
    if (n->type != XML_ELEMENT_NODE || is_skipped(n))
        return false;
    if (name_is(n, "br")) {
        line_end(t);
    } else if (name_is(n, "li")) {
        line_ensure(t);
        t->li_prefix = true;
    } else if (is_block(n)) {
        line_ensure(t);
    } else if (is_cell(n)) {
        t->pending_space = false;
        bool first = true;
        for (const xmlNode *p = n->prev; p != NULL && first; p = p->prev)
            if (is_cell(p))
                first = false;
        if (!first) {
            before_char(t);
            buf_append(&t->line, " | ", 3);
            t->after_sep = true;
        }
    }
    return true;
}

static void
node_leave(struct text_out *t, const xmlNode *n)
{
    if (n->type != XML_ELEMENT_NODE || is_skipped(n))
        return;
    if (name_is(n, "li")) {
        line_ensure(t);
        t->li_prefix = false;
    } else if (is_block(n)) {
        line_ensure(t);
    } else if (is_cell(n)) {
        t->pending_space = false;
    }
}

/* Visits the tree in document order with parent pointers, not recursion. */
static void
walk(struct text_out *t, xmlDoc *doc)
{
    xmlNode *n = doc->children;
    while (n != NULL) {
        if (node_enter(t, n) && n->children != NULL) {
            n = n->children;
            continue;
        }
        for (;;) {
            node_leave(t, n);
            if (n->next != NULL) {
                n = n->next;
                break;
            }
            n = n->parent;
            if (n == NULL || n == (xmlNode *)doc) {
                n = NULL;
                break;
            }
        }
    }
}

/* The tree's start element without the attributes: no rule reads them, and tags can hold many
 * (8 MiB of a 54-byte tag with 26 took 609 MB, 155,000 '<' with 4 million attributes). */
static void
start_element(void *ctx, const xmlChar *name, const xmlChar **atts)
{
    (void)atts;
    xmlSAX2StartElement(ctx, name, NULL);
}

/* Parses len bytes of valid UTF-8 into a tree, or returns NULL. */
static xmlDoc *
parse_html(const char *s, size_t len)
{
    htmlParserCtxtPtr ctxt = htmlNewParserCtxt();
    if (ctxt == NULL)
        return NULL;
    /* The context has its own copy of the handlers, so threads do not share this change. */
    ctxt->sax->startElement = start_element;
    /* The sanitized input grows at most 3x (one byte to U+FFFD), so it fits an int. */
    xmlDoc *doc = htmlCtxtReadMemory(ctxt, s, (int)len, NULL, "UTF-8",
                                     HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                                         XML_PARSE_HUGE | HTML_PARSE_RECOVER);
    htmlFreeParserCtxt(ctxt);
    return doc;
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void
xml_init(void)
{
    xmlInitParser();
}

char *
ticket_html_to_text(const char *html, size_t len)
{
    if (html == NULL || len == 0)
        return xstrdup("");
    if (len > TICKET_HTML_MAX_INPUT)
        len = TICKET_HTML_MAX_INPUT;
    len = markup_cap(html, len);
    pthread_once(&xml_once, xml_init);

    struct buf in;
    buf_init(&in, 0);
    sanitize_input(&in, (const unsigned char *)html, len);
    if (in.len == 0) {
        buf_release(&in);
        return xstrdup("");
    }
    in.len = html_attrs_cap(in.data, in.len);
    xmlDoc *doc = parse_html(in.data, in.len);
    buf_release(&in);
    if (doc == NULL)
        return xstrdup("");

    struct text_out t = {0};
    buf_init(&t.out, 0);
    buf_init(&t.line, 0);
    walk(&t, doc);
    xmlFreeDoc(doc);
    line_end(&t);
    buf_release(&t.line);
    return buf_detach(&t.out);
}

/* --- time_spent, words, hours --- */

/* Parses a run of decimal digits filling [s, s + n) into *out, at most max. */
static int
parse_digits(const char *s, size_t n, int64_t max, int64_t *out)
{
    if (n == 0)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        int d = s[i] - '0';
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int
ticket_time_spent_s(const cJSON *v, int64_t *seconds)
{
    if (v == NULL)
        return -1;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        /* The comparisons are false for NaN; the cap is exact as a double. */
        if (!(d >= 0 && d <= (double)TICKET_TIME_SPENT_MAX_S) || d != (double)(int64_t)d)
            return -1;
        *seconds = (int64_t)d;
        return 0;
    }
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return -1;
    const char *s = v->valuestring;
    size_t n = strlen(s);
    const char *colon = memchr(s, ':', n);
    int64_t h, m;
    if (colon == NULL) {
        if (parse_digits(s, n, TICKET_TIME_SPENT_MAX_S, &h) < 0)
            return -1;
        *seconds = h;
        return 0;
    }
    size_t hn = (size_t)(colon - s), mn = n - hn - 1;
    if (mn != 2 || parse_digits(colon + 1, 2, 59, &m) < 0 ||
        parse_digits(s, hn, TICKET_TIME_SPENT_MAX_S / 3600, &h) < 0 ||
        h * 3600 + m * 60 > TICKET_TIME_SPENT_MAX_S)
        return -1;
    *seconds = h * 3600 + m * 60;
    return 0;
}

static const char *
unknown_word(int code, char *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return "Unknown";
    snprintf(buf, len, "Unknown (%d)", code);
    return buf;
}

const char *
ticket_status_word(int status, char *buf, size_t len)
{
    switch (status) {
    case 2:
        return "Open";
    case 3:
        return "Pending";
    case 4:
        return "Resolved";
    case 5:
        return "Closed";
    default:
        return unknown_word(status, buf, len);
    }
}

const char *
ticket_priority_word(int priority, char *buf, size_t len)
{
    switch (priority) {
    case 1:
        return "Low";
    case 2:
        return "Medium";
    case 3:
        return "High";
    case 4:
        return "Urgent";
    default:
        return unknown_word(priority, buf, len);
    }
}

double
ticket_hours(int64_t total_seconds, int n_entries)
{
    if (n_entries <= 0)
        return 0.25;
    if (total_seconds < 0)
        total_seconds = 0;
    /* A hundredth of an hour is 36 s; round in integers so halves go up exactly. */
    int64_t hundredths = total_seconds / 36 + (total_seconds % 36 >= 18 ? 1 : 0);
    return (double)hundredths / 100.0;
}
