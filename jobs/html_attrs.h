/* Start tags with too many attributes, made harmless before libxml2's HTML parser sees them
 * (ticket_text.c). */
#ifndef JOBFLEET_HTML_ATTRS_H
#define JOBFLEET_HTML_ATTRS_H

#include <stddef.h>

/* Most attributes one start tag keeps. libxml2 2.9 checks each attribute of a tag against every
 * one before it (htmlParseStartTag), so one tag of a million, 8 MiB of "<b a0 a1 a2 ...", would
 * take ~17 minutes; at this many a tag costs microseconds. */
#define HTML_TAG_ATTRS_MAX 256

/* Drops, in place, every attribute of a start tag past its HTML_TAG_ATTRS_MAX-th, from where
 * that one starts to the tag's end; returns the new length (s is not NUL-terminated anew). The
 * tags and their attributes are read as libxml2 2.9.14's htmlParseStartTag reads them: a tag
 * starts at '<' and an ASCII letter; a name is at most 100 characters, the rest being the next
 * name; a value is quoted by the '"' or '\'' right after the '=' (and blanks), else runs to a
 * blank or '>'; text that is no name is skipped to a blank or the tag's end; the tag ends at
 * '>' or "/>". Such text is never read for text, so the parser's text is the same; bogus text
 * counts as an attribute here, so a tag is never kept with more. Text that only looks like a
 * tag (in a comment, a script or a style) is read the same way, which may drop some of it past
 * 256 such attributes. s must hold no NUL (ticket_text.c's input is sanitized). */
size_t html_attrs_cap(char *s, size_t n);

#endif
