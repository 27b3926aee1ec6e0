/* Unit tests for jobs/ticket_text.c: HTML to text on a table of tricky inputs with exact
 * expected texts (entities, nbsp, <br>, tables, lists, script/style, comments, CDATA, broken
 * markup, non-ASCII, invalid UTF-8), on 1 MiB and 10,000-deep inputs and from several threads;
 * the cut after TICKET_HTML_MAX_TAGS '<', the peak memory of 8 MiB of markup and the time of a
 * tag of 8 MiB of attributes; time_spent
 * parsing; status and priority words; total hours. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ticket_text.h"
#include "util.h"

/* Whether s is valid UTF-8 (no surrogates, nothing past U+10FFFF, no overlongs). */
static int
valid_utf8(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        size_t n;
        uint32_t cp;
        if (s[0] < 0x80) {
            s++;
            continue;
        } else if ((s[0] & 0xe0) == 0xc0) {
            n = 2, cp = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
            n = 3, cp = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
            n = 4, cp = s[0] & 0x07;
        } else {
            return 0;
        }
        for (size_t i = 1; i < n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i] & 0x3f);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        s += n;
    }
    return 1;
}

static void
check_html(const char *html, size_t len, const char *want, const char *what)
{
    char *got = ticket_html_to_text(html, len);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("%s: want \"%s\", got \"%s\"", what, want, got);
    if (!valid_utf8(got))
        fail_msg("%s: output is not valid UTF-8", what);
    free(got);
}

static const struct {
    const char *html, *want, *what;
} html_table[] = {
    {"", "", "empty"},
    {"plain", "plain", "plain text"},
    {"  \n\t  ", "", "only whitespace"},
    {"<p></p><div> </div>", "", "no text"},
    /* Entities. */
    {"a &amp; b &lt;c&gt; &quot;q&quot; &#39;s&#39;", "a & b <c> \"q\" 's'", "basic entities"},
    {"&eacute;&uuml;&euro;&copy;&mdash;", "éü€©—", "named non-ASCII entities"},
    {"&#233;&#xE9;&#X20AC;&#8364;&#65", "éé€€A", "numeric entities, ';' optional"},
    {"&#x1F600; &#128512;", "😀 😀", "numeric astral entities"},
    {"a &foo; b &amp c", "a &foo; b &amp c", "unknown or unterminated named entities"},
    {"a &#0; b &#xD800; c &#x110000; d &#1; e", "a b c d e", "invalid numeric references"},
    {"a &#128; &#x85; b", "a b", "C1 controls from references are dropped"},
    {"&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>",
     "escaped markup is text"},
    /* Whitespace and nbsp. */
    {"a  \t\n\r b", "a b", "whitespace run"},
    {"x&nbsp;&nbsp;y&nbsp;", "x y", "nbsp collapses like a space"},
    {"<p>&nbsp;</p><p>a</p><p> &nbsp; </p>", "a", "nbsp-only paragraphs"},
    {"x\xc2\xa0\xc2\xa0y", "x y", "raw U+00A0"},
    {"<b>a </b> b<i> c</i>", "a b c", "collapse across inline elements"},
    {"a<span>b</span>c", "abc", "inline elements add nothing"},
    {"<p>  lead and trail  </p>", "lead and trail", "lines are trimmed"},
    {"<pre>  a\n   b</pre>", "a b", "pre collapses too"},
    /* <br> and blocks. */
    {"a<br>b<br/>c<BR />d<br >e", "a\nb\nc\nd\ne", "br variants"},
    {"a<br><br>b", "a\n\nb", "two br give a blank line"},
    {"a<br><br><br><br>b", "a\n\nb", "blank lines collapse to one"},
    {"<br><br>a<br><br>", "a", "leading and trailing blank lines dropped"},
    {"<p>a<br></p><p>b</p>", "a\nb", "br at the end of a block"},
    {"<div>line</div><div><br></div><div>line2</div>", "line\n\nline2", "editor blank line"},
    {"<div><div>a</div></div><div>b</div>", "a\nb", "nested blocks, no blank line"},
    {"a<div>b</div>c", "a\nb\nc", "block inside text"},
    {"<h1>T</h1>text<hr>more<h6>x</h6>", "T\ntext\nmore\nx", "headings and hr"},
    {"<blockquote>q<blockquote>qq</blockquote></blockquote>after", "q\nqq\nafter", "blockquote"},
    {"<p>a</p>\n\n<p>b</p>", "a\nb", "whitespace between blocks"},
    /* Tables. */
    {"<table><tr><td>a</td><td>b</td></tr><tr><th>c</th><td> d </td><td></td><td>e</td>"
     "</tr></table>",
     "a | b\nc | d |  | e", "table, th, padded and empty cells"},
    {"<table><tbody><tr><td>a<td>b</tbody></table>", "a | b", "tbody and unclosed cells"},
    {"<table><tr><td>a</td><td><table><tr><td>x</td><td>y</td></tr></table></td></tr>"
     "<tr><td>z</td></tr></table>",
     "a |\nx | y\nz", "nested table"},
    {"<td>x</td><td>y</td>", "x | y", "cells without a table"},
    {"<table><tr><td>a<br>b</td><td>c</td></tr></table>", "a\nb | c", "br in a cell"},
    /* Lists. */
    {"<ul><li>one</li><li>two</li></ul>", "- one\n- two", "ul"},
    {"<ol><li>one<li>two</ol>", "- one\n- two", "ol, unclosed li"},
    {"<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>", "- a\n- b\n- c", "nested lists"},
    {"<ul><li></li><li> </li><li>x</li></ul>", "- x", "empty items write nothing"},
    {"<ul><li><p>p</p></li></ul>", "- p", "item text in a nested block"},
    {"before<ul><li>x</li></ul>after", "before\n- x\nafter", "list between text"},
    /* Dropped content. */
    {"a<script>alert('<p>x</p>')</script>b<style>p{color:red}</style>c", "abc", "script and style"},
    {"<html><head><title>T</title><style>x</style><script>y</script></head><body>Hi</body>"
     "</html>",
     "Hi", "head"},
    {"<!DOCTYPE html><html><body><p>x</p></body></html>", "x", "doctype"},
    {"a<!-- c <p>d</p> -->b<!--x", "ab", "comments, one unterminated"},
    {"x<![CDATA[ y <b>z</b> ]]>w", "xw", "CDATA"},
    {"x<![CDATA[ never closed", "x", "unterminated CDATA"},
    {"<?php echo 1; ?>a", "a", "processing instruction"},
    {"<script>never closed", "", "unterminated script"},
    /* Malformed markup. */
    {"<p>unclosed <b>bold <i>it<div>d</p>t", "unclosed bold it\ndt", "unclosed tags"},
    {"</p></div>a</b>", "a", "stray end tags"},
    {"a < b > c", "a < b > c", "bare angle brackets"},
    {"<", "", "lone <"},
    {"<p", "", "truncated tag"},
    {"<div class=\"x>a</div>b", "", "unterminated attribute"},
    {"<foo bar=1>x</foo><st1:city>y</st1:city>", "xy", "unknown tags"},
    {"<p class=MsoNormal>Hello<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p>Bye</p>",
     "Hello\nBye", "Outlook's o:p (libxml2 makes it a p)"},
    {"a<o:p>b</o:p>c", "a\nb\nc", "o:p is a block"},
    {"<P>A</P><DIV>B</DIV>", "A\nB", "upper-case tags"},
    /* Non-ASCII. */
    {"grüße 日本語 😀 עברית", "grüße 日本語 😀 עברית", "non-ASCII text"},
    {"<p>caf\xc3\xa9</p>", "café", "UTF-8 in a block"},
    /* Invalid UTF-8 and controls: each maximal invalid subpart is one U+FFFD. */
    {"a\xff\xfe"
     "b",
     "a\xef\xbf\xbd\xef\xbf\xbd"
     "b",
     "invalid bytes"},
    {"a\xc3"
     "b",
     "a\xef\xbf\xbd"
     "b",
     "truncated sequence"},
    {"a\xe2\x82", "a\xef\xbf\xbd", "truncated at the end"},
    {"a\xc0\xaf"
     "b",
     "a\xef\xbf\xbd\xef\xbf\xbd"
     "b",
     "overlong"},
    {"a\xed\xa0\x80"
     "b",
     "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
     "b",
     "encoded surrogate"},
    {"a\xef\xbf\xbe"
     "b",
     "ab", "U+FFFE dropped"},
    {"a\x01"
     "b\x0c"
     "c\x7f"
     "d\x1b"
     "e",
     "ab cde", "controls; form feed is a space"},
    {"\xff", "\xef\xbf\xbd", "a lone bad byte"},
};

static void
test_html_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(html_table) / sizeof(html_table[0]); i++)
        check_html(html_table[i].html, strlen(html_table[i].html), html_table[i].want,
                   html_table[i].what);
}

static void
test_html_edges(void **state)
{
    (void)state;
    char *s = ticket_html_to_text(NULL, 10);
    assert_string_equal(s, "");
    free(s);
    /* len is honoured: no NUL needed, and bytes past len are not read. */
    check_html("<p>abc</p>garbage", 10, "abc", "len shorter than the string");
    /* NULs inside the input are dropped, not the end of it. */
    static const char nul[] = "a\0b<br>\0c";
    check_html(nul, sizeof(nul) - 1, "ab\nc", "embedded NULs");
}

/* Appends s n times. */
static void
repeat(struct buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_appends(b, s);
}

static void
test_html_deep(void **state)
{
    (void)state;
    struct buf b;
    static const struct {
        const char *open, *close;
    } tags[] = {{"<div>", "</div>"},
                {"<b>", "</b>"},
                {"<blockquote>", ""},
                {"<table><tr><td>", ""},
                {"<ul><li>", "</li></ul>"}};
    for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
        buf_init(&b, 0);
        buf_appends(&b, "top");
        repeat(&b, tags[t].open, 10000);
        buf_appends(&b, "deep");
        repeat(&b, tags[t].close, 10000);
        buf_appends(&b, "<p>after</p>");
        char *got = ticket_html_to_text(b.data, b.len);
        /* Every level's text survives, whatever the markup around it. */
        if (strncmp(got, "top", 3) != 0 || strstr(got, "deep") == NULL ||
            strcmp(got + strlen(got) - 5, "after") != 0)
            fail_msg("%s x 10000: got \"%.60s\"", tags[t].open, got);
        free(got);
        buf_release(&b);
    }
    buf_init(&b, 0);
    repeat(&b, "<div>", 10000);
    buf_appends(&b, "deep");
    repeat(&b, "</div>", 10000);
    check_html(b.data, b.len, "deep", "10,000 nested divs");
    buf_release(&b);
}

static void
test_html_huge(void **state)
{
    (void)state;
    struct buf b, want;
    buf_init(&b, 0);
    buf_init(&want, 0);
    size_t n = 0;
    while (b.len < (1u << 20) + 1) {
        buf_printf(&b, "<p>line %zu &amp; w\xc3\xb6rd<br>x</p>\n", n);
        buf_printf(&want, "%sline %zu & w\xc3\xb6rd\nx", n ? "\n" : "", n);
        n++;
    }
    check_html(b.data, b.len, want.data, "1 MiB of paragraphs");
    buf_release(&b);
    buf_release(&want);

    /* One 1 MiB text node, and 1 MiB of invalid bytes (each one a U+FFFD). */
    buf_init(&b, 0);
    buf_init(&want, 0);
    for (size_t i = 0; i < (1u << 20); i++) {
        buf_append(&b, "\xff", 1);
        buf_append(&want, "\xef\xbf\xbd", 3);
    }
    check_html(b.data, b.len, want.data, "1 MiB of invalid UTF-8");
    buf_release(&b);
    buf_release(&want);

    /* 1 MiB of unclosed tags of each kind: no crash, no text. */
    static const char *const junk[] = {"<b>", "<li>", "<td>", "<div>", "<", "&#"};
    for (size_t j = 0; j < sizeof(junk) / sizeof(junk[0]); j++) {
        buf_init(&b, 0);
        while (b.len < (1u << 20))
            buf_appends(&b, junk[j]);
        char *got = ticket_html_to_text(b.data, b.len);
        assert_non_null(got);
        assert_true(valid_utf8(got));
        free(got);
        buf_release(&b);
    }
}

/* Rule 1's cut: text before the '<' after the first TICKET_HTML_MAX_TAGS is kept, text after it
 * is not, whatever holds the '<'. Too long for the table, so built here. */
static void
test_html_tag_cap(void **state)
{
    (void)state;
    const size_t n = TICKET_HTML_MAX_TAGS;
    struct buf b, want;
    buf_init(&b, 0);
    repeat(&b, "<b>", n - 1);
    buf_appends(&b, "<i>kept<i>gone");
    check_html(b.data, b.len, "kept", "tags past the cap");
    buf_release(&b);

    buf_init(&b, 0);
    repeat(&b, "<!--<-->", n / 2);
    buf_appends(&b, "kept<gone");
    check_html(b.data, b.len, "kept", "a '<' in a comment counts");
    buf_release(&b);

    buf_init(&b, 0);
    buf_init(&want, 0);
    repeat(&b, "x < ", n);
    buf_appends(&b, "tail < gone");
    repeat(&want, "x < ", n);
    buf_appends(&want, "tail");
    check_html(b.data, b.len, want.data, "a '<' in text counts");
    buf_release(&b);
    buf_release(&want);
}

/* This process's peak RSS in KiB. Not getrusage's ru_maxrss, which after an exec still holds the
 * peak of the process before it: the test binary's forked copy. */
static long
peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kib;
}

/* Run as "ticket_text_test --rss-growth PATTERN" by test_html_memory: converts
 * TICKET_HTML_MAX_INPUT bytes of PATTERN repeated and prints the peak RSS growth in KiB. */
static int
rss_growth_main(const char *pattern)
{
    struct buf b;
    buf_init(&b, 0);
    while (b.len < TICKET_HTML_MAX_INPUT)
        buf_appends(&b, pattern);
    long before = peak_rss_kib();
    free(ticket_html_to_text(b.data, TICKET_HTML_MAX_INPUT));
    long after = peak_rss_kib();
    buf_release(&b);
    if (before < 0 || after < 0)
        return 1;
    printf("%ld\n", after - before);
    return 0;
}

/* Runs this test binary as "ticket_text_test MODE ARG" in a fresh process (a forked one would
 * reuse the pages this one has freed, and so hide growth), killed after alarm_s seconds; its
 * output into out (len bytes). Fails the test unless it exits 0 with some output. */
static void
run_mode(const char *mode, const char *arg, unsigned alarm_s, char *out, size_t len)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        alarm(alarm_s); /* kept across the exec */
        execl("/proc/self/exe", "ticket_text_test", mode, arg, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t r;
    while (n < len - 1 && (r = read(fd[0], out + n, len - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        fail_msg("%s %s: not done after %u s", mode, arg, alarm_s);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == 0)
        fail_msg("%s %s: the process failed (status %d)", mode, arg, status);
}

/* The peak RSS growth, in KiB, of rss_growth_main in a fresh process. */
static long
rss_growth_kib(const char *pattern)
{
    char out[64];
    run_mode("--rss-growth", pattern, 600, out, sizeof(out));
    return strtol(out, NULL, 10);
}

/* The most 8 MiB of markup may add to a child's peak RSS: tens of MB, where the tree alone took
 * ~100x the input's size (714 MB for "x<b>") before the cut. AddressSanitizer's redzones and
 * quarantine double the figure. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_GROWTH_MAX_KIB (200L * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_GROWTH_MAX_KIB (200L * 1024)
#endif
#endif
#ifndef RSS_GROWTH_MAX_KIB
#define RSS_GROWTH_MAX_KIB (100L * 1024)
#endif

static void
test_html_memory(void **state)
{
    (void)state;
    static const char *const patterns[] = {
        "<b>", "x<b>", "<div>", "<b a b c d e f g h i j k l m n o p q r s t u v w x y z>"};
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        long kib = rss_growth_kib(patterns[i]);
        print_message("%s x 8 MiB: peak RSS grew by %ld KiB\n", patterns[i], kib);
        if (kib > RSS_GROWTH_MAX_KIB)
            fail_msg("%s x 8 MiB: peak RSS grew by %ld KiB, over %ld", patterns[i], kib,
                     RSS_GROWTH_MAX_KIB);
    }
}

/* Run as "ticket_text_test --attr-flood TEXT" by test_html_attr_flood: converts one <p> tag
 * with TICKET_HTML_MAX_INPUT bytes of attributes, then TEXT, and prints the text. */
static int
attr_flood_main(const char *text)
{
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, "<p");
    for (unsigned i = 0; b.len < TICKET_HTML_MAX_INPUT - 64; i++)
        buf_printf(&b, " a%x", i);
    buf_appends(&b, text);
    char *t = ticket_html_to_text(b.data, b.len);
    fputs(t, stdout);
    free(t);
    buf_release(&b);
    return 0;
}

/* libxml2 checks each attribute of a tag against all before it: one tag of 8 MiB of attributes
 * (1.2 million) took ~17 minutes, so a ticket body of it stopped every sync at its timeout.
 * Attributes past the 256th are dropped before parsing now, and the text is the same. */
static void
test_html_attr_flood(void **state)
{
    (void)state;
    char out[64];
    run_mode("--attr-flood", ">hello</p>world", 30, out, sizeof(out));
    assert_string_equal(out, "hello\nworld");
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, "<p x=\"a > b\" y='c d'");
    for (int i = 0; i < 300; i++)
        buf_printf(&b, " a%d=v", i);
    buf_appends(&b, " z=\"q>\">hello</p><p a b c>world</p>");
    char *t = ticket_html_to_text(b.data, b.len);
    assert_string_equal(t, "hello\nworld");
    free(t);
    buf_release(&b);
}

static void *
thread_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        char *got = ticket_html_to_text("<ul><li>a &amp; b</li></ul>", 27);
        if (strcmp(got, "- a & b") != 0)
            abort();
        free(got);
    }
    return NULL;
}

static void
test_html_threads(void **state)
{
    (void)state;
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
}

static void
test_time_spent(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int rc;
        int64_t want;
    } table[] = {
        {"\"01:30\"", 0, 5400},
        {"\"00:00\"", 0, 0},
        {"\"02:00\"", 0, 7200},
        {"\"120:05\"", 0, 432300},
        {"\"0:59\"", 0, 3540},
        {"\"90\"", 0, 90},
        {"\"0\"", 0, 0},
        {"90", 0, 90},
        {"0", 0, 0},
        {"1e3", 0, 1000},
        {"1000000000000", 0, 1000000000000},
        {"\"277777777:46\"", 0, 999999999960},
        {"\"1:60\"", -1, 0},
        {"\"1:5\"", -1, 0},
        {"\"1:050\"", -1, 0},
        {"\":30\"", -1, 0},
        {"\"01:\"", -1, 0},
        {"\"01:30:00\"", -1, 0},
        {"\"abc\"", -1, 0},
        {"\"\"", -1, 0},
        {"\"-5\"", -1, 0},
        {"\"+5\"", -1, 0},
        {"\" 5\"", -1, 0},
        {"\"5 \"", -1, 0},
        {"\"1.5\"", -1, 0},
        {"\"-01:30\"", -1, 0},
        {"\"99999999999999999999\"", -1, 0},
        {"\"99999999999999999999:00\"", -1, 0},
        {"\"1000000000001\"", -1, 0},
        {"1000000000001", -1, 0},
        {"-5", -1, 0},
        {"1.5", -1, 0},
        {"1e300", -1, 0},
        {"null", -1, 0},
        {"true", -1, 0},
        {"false", -1, 0},
        {"[90]", -1, 0},
        {"{\"s\":90}", -1, 0},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        cJSON *v = cJSON_Parse(table[i].json);
        assert_non_null(v);
        int64_t got = -42;
        int rc = ticket_time_spent_s(v, &got);
        if (rc != table[i].rc)
            fail_msg("%s: want rc %d, got %d", table[i].json, table[i].rc, rc);
        if (rc == 0 && got != table[i].want)
            fail_msg("%s: want %lld s, got %lld", table[i].json, (long long)table[i].want,
                     (long long)got);
        if (rc != 0 && got != -42)
            fail_msg("%s: *seconds written on failure", table[i].json);
        cJSON_Delete(v);
    }
    int64_t s = 0;
    assert_int_equal(ticket_time_spent_s(NULL, &s), -1);
}

static void
test_words(void **state)
{
    (void)state;
    char buf[TICKET_WORD_BUFSZ];
    assert_string_equal(ticket_status_word(2, buf, sizeof(buf)), "Open");
    assert_string_equal(ticket_status_word(3, buf, sizeof(buf)), "Pending");
    assert_string_equal(ticket_status_word(4, buf, sizeof(buf)), "Resolved");
    assert_string_equal(ticket_status_word(5, buf, sizeof(buf)), "Closed");
    assert_string_equal(ticket_status_word(1, buf, sizeof(buf)), "Unknown (1)");
    assert_string_equal(ticket_status_word(17, buf, sizeof(buf)), "Unknown (17)");
    assert_string_equal(ticket_status_word(-2147483647 - 1, buf, sizeof(buf)),
                        "Unknown (-2147483648)");
    assert_string_equal(ticket_status_word(6, NULL, 0), "Unknown");
    assert_string_equal(ticket_status_word(6, buf, 8), "Unknown");
    assert_string_equal(ticket_priority_word(1, buf, sizeof(buf)), "Low");
    assert_string_equal(ticket_priority_word(2, buf, sizeof(buf)), "Medium");
    assert_string_equal(ticket_priority_word(3, buf, sizeof(buf)), "High");
    assert_string_equal(ticket_priority_word(4, buf, sizeof(buf)), "Urgent");
    assert_string_equal(ticket_priority_word(0, buf, sizeof(buf)), "Unknown (0)");
    assert_string_equal(ticket_priority_word(5, buf, sizeof(buf)), "Unknown (5)");
}

static void
test_hours(void **state)
{
    (void)state;
    assert_true(ticket_hours(0, 0) == 0.25);
    assert_true(ticket_hours(7200, 0) == 0.25);
    assert_true(ticket_hours(0, 1) == 0.0);
    assert_true(ticket_hours(5400, 1) == 1.5);
    assert_true(ticket_hours(1200, 2) == 0.33);
    assert_true(ticket_hours(2400, 1) == 0.67);
    assert_true(ticket_hours(17, 1) == 0.0);
    assert_true(ticket_hours(18, 1) == 0.01);
    assert_true(ticket_hours(54, 1) == 0.02);
    assert_true(ticket_hours(432300, 3) == 120.08);
    assert_true(ticket_hours(-60, 1) == 0.0);
    assert_true(ticket_hours(INT64_MAX, 1) > 0);
}

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--rss-growth") == 0)
        return rss_growth_main(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--attr-flood") == 0)
        return attr_flood_main(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_table),      cmocka_unit_test(test_html_edges),
        cmocka_unit_test(test_html_deep),       cmocka_unit_test(test_html_huge),
        cmocka_unit_test(test_html_tag_cap),    cmocka_unit_test(test_html_memory),
        cmocka_unit_test(test_html_attr_flood), cmocka_unit_test(test_html_threads),
        cmocka_unit_test(test_time_spent),      cmocka_unit_test(test_words),
        cmocka_unit_test(test_hours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
