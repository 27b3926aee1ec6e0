/* Pure helpers for the Freshservice ticket sync: HTML bodies to plain text, time entries'
 * time_spent to seconds, status and priority codes to words, and total hours.
 *
 * How to change this: the fixture generator in tests/fakes/ computes expected texts with the
 * rules written on ticket_html_to_text. A change to a rule is a change to both, and to the
 * table in tests/unit/ticket_text_test.c. */
#ifndef JOBFLEET_TICKET_TEXT_H
#define JOBFLEET_TICKET_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Input past this many bytes is ignored by ticket_html_to_text (a ticket body is far smaller);
 * it bounds the text and the copies of the input. */
#define TICKET_HTML_MAX_INPUT ((size_t)8 << 20)

/* Input from the '<' after this many on is ignored by ticket_html_to_text. Bytes alone do not
 * bound the parser's tree: each '<' can add an element and a text node, ~180 bytes each, for 4
 * bytes of input, so 8 MiB of "x<b>" took 714 MB. With this bound it takes ~70 MB (peak RSS
 * growth, the input's copies included), while a 2 MB Outlook thread (Word HTML, dense with
 * tags) holds ~71,000 '<' and bodies up to ~5 MB of it are read whole. */
#define TICKET_HTML_MAX_TAGS ((size_t)200000)

/* The largest time_spent ticket_time_spent_s accepts, in seconds (about 31,700 years): small
 * enough that a sum over millions of entries cannot overflow an int64_t. */
#define TICKET_TIME_SPENT_MAX_S INT64_C(1000000000000)

/* A buffer this large always holds ticket_status_word's and ticket_priority_word's answer. */
#define TICKET_WORD_BUFSZ 32

/* Converts len bytes of HTML (need not be NUL-terminated, may hold NULs) to plain text, with
 * libxml2's HTML parser in recover mode (encoding UTF-8, no network, no error output, and
 * XML_PARSE_HUGE, without which libxml2 stops at nesting depth 256 and loses the rest of the
 * document) and an iterative walk of its tree, so depth costs no stack. No rule reads an
 * attribute: the parser keeps none, and a start tag's past HTML_TAG_ATTRS_MAX are dropped before
 * it reads them (html_attrs.h), which keeps a hostile tag from costing minutes. The rules, in
 * order:
 *
 *  1. Input. Bytes past TICKET_HTML_MAX_INPUT are ignored, and so are those from the '<' after
 *     the first TICKET_HTML_MAX_TAGS on: every '<' counts, in a tag, an end tag, a comment,
 *     text, a script or a CDATA section. Invalid UTF-8 is replaced by U+FFFD, one per maximal
 *     invalid subpart (as Python's bytes.decode("utf-8", "replace") does); U+FFFE and U+FFFF
 *     are dropped; NUL and the C0 controls other than tab, LF, CR and FF are dropped; FF
 *     becomes a space. A CDATA section, "<![CDATA[" to the next "]]>" (or to the
 *     end), is removed: in HTML it is a bogus comment, which gives no text.
 *  2. Entities are decoded by the parser, by libxml2's HTML rules: named ("&eacute;"), decimal
 *     and hex ("&#233;", "&#xE9;"; the ';' may be left off numeric ones). A named one without
 *     its ';' ("&amp b") or an unknown one ("&foo;") stays as written. A numeric reference to
 *     an invalid code point (0, a surrogate, past U+10FFFF, a C0 control) gives nothing.
 *  3. Dropped with all their contents: <script>, <style>, <head> (so <title> too). Comments,
 *     processing instructions and the doctype give nothing.
 *  4. Whitespace: space, tab, LF, CR, FF and U+00A0 (&nbsp;) are all whitespace. A run of it,
 *     within one text node or across inline elements, becomes one space; none is written at
 *     the start or end of a line. DEL and the C1 controls (U+0080-U+009F, e.g. from &#128;) are
 *     dropped. All other characters are copied.
 *  5. Block elements -- p, div, li, tr, table, h1-h6, ul, ol, blockquote, pre, hr -- start a new
 *     line where they open and where they close: the current line is ended unless it is empty
 *     (so nested blocks and adjacent blocks give no blank line). <pre> gets no special
 *     whitespace treatment. Every other element (td, th, tbody, span, b, a, ...) is inline.
 *     Names are as libxml2 reads them: Outlook's <o:p> comes out as a p, <st1:city> inline.
 *  6. <br> always ends the current line, even an empty one, so "a<br><br>b" is "a", a blank
 *     line, "b"; "<p>a<br></p>" is just "a".
 *  7. Tables: a td or th that has an earlier td or th sibling (in its tr, or wherever the parser
 *     put it) starts with " | "; spaces at the start and end of a cell's text are not written
 *     (the separator's own spaces are). Empty cells keep their separators: "a |  | c". A cell
 *     holding a block or a nested table breaks the line there: "a |", then the inner rows.
 *  8. Lists (ul and ol alike, no numbering or indentation): an li's first written character on
 *     its line is preceded by "- ". An li that writes nothing writes no "- "; an li whose text
 *     starts in a nested block (<li><p>x</p></li>) still reads "- x".
 *  9. Lines: each line is trimmed of spaces; a run of blank lines becomes one blank line;
 *     blank lines at the start and end are dropped. Lines are joined by "\n", with no "\n"
 *     after the last.
 *
 * Returns a malloc'ed, NUL-terminated, valid UTF-8 string the caller frees: "" for NULL or
 * empty input or input with no text. Never NULL: running out of memory aborts (xmalloc), and
 * if libxml2 cannot build a document at all the answer is "". Safe
 * to call from several threads at once (libxml2 is initialised once, with pthread_once). */
char *ticket_html_to_text(const char *html, size_t len);

/* Parses a time entry's time_spent (API-FACTS §1: "hh:mm" in real output, seconds in the vendor
 * spec) into seconds. Accepted: a string "H:MM" with one or more hour digits and exactly two
 * minute digits 00-59 ("01:30" = 5400, "120:05" = 432300); a string of decimal digits, taken as
 * seconds ("90" = 90); a JSON number that is a whole number >= 0, taken as seconds. Rejected
 * (returns -1, *seconds untouched): NULL, null, booleans, arrays, objects, empty strings, signs,
 * spaces, fractions, minutes past 59, "h:mm:ss", values above TICKET_TIME_SPENT_MAX_S. Returns 0
 * and sets *seconds on success. */
int ticket_time_spent_s(const cJSON *v, int64_t *seconds);

/* The word for a ticket status: 2 "Open", 3 "Pending", 4 "Resolved", 5 "Closed"; any other n
 * gives "Unknown (<n>)", written into buf (len bytes; TICKET_WORD_BUFSZ always suffices,
 * shorter buffers truncate). Returns a static string or buf; "Unknown" if an unknown code comes
 * with a NULL or zero-length buf. */
const char *ticket_status_word(int status, char *buf, size_t len);

/* The word for a ticket priority: 1 "Low", 2 "Medium", 3 "High", 4 "Urgent"; otherwise as
 * ticket_status_word. */
const char *ticket_priority_word(int priority, char *buf, size_t len);

/* Total hours for a ticket: total_seconds / 3600 rounded to two decimals, halves up (36 s is
 * 0.01 h, so 18 s rounds to 0.01); 0.25 when n_entries <= 0 (no time entries at all, whatever
 * total_seconds says). A negative total counts as 0. */
double ticket_hours(int64_t total_seconds, int n_entries);

#endif
