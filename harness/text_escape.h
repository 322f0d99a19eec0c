/* Text as the machine formats the reports write need it: JSON strings and
 * XML character data. What goes in may be anything the guest left in
 * memory or a symbol table holds, so neither assumes UTF-8: a byte that
 * does not start a well-formed sequence becomes U+FFFD, and the output
 * always parses.
 */
#ifndef IST_TEXT_ESCAPE_H
#define IST_TEXT_ESCAPE_H

#include <stdio.h>

/* s as a JSON string, quotes included; NULL as null. Line breaks and
 * tabs are \n and \t, other control characters \u00XX. */
void json_string(FILE *f, const char *s);

/* s as XML character data, or as an attribute value quoted with ". What
 * XML 1.0 cannot carry at all (most control characters) becomes U+FFFD.
 * NULL is "". */
void xml_text(FILE *f, const char *s);
void xml_attr(FILE *f, const char *s);

#endif
