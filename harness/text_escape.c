#include <stddef.h>
#include <stdint.h>

#include "text_escape.h"

#define REPLACEMENT_UTF8 "\xef\xbf\xbd" /* U+FFFD */

/* The code point at s and the length of its sequence, or 0 when s does
 * not start a well-formed UTF-8 sequence (overlong, surrogate, beyond
 * U+10FFFF, cut short): the caller replaces that one byte and goes on. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0)
		len = 2, min = 0x80, c &= 0x1f;
	else if ((c & 0xf0) == 0xe0)
		len = 3, min = 0x800, c &= 0x0f;
	else if ((c & 0xf8) == 0xf0)
		len = 4, min = 0x10000, c &= 0x07;
	else
		return 0;
	/* A NUL ends the string and is no continuation byte, so a sequence
	 * cut short is never read past its end. */
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

void json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	while (*p) {
		uint32_t c;
		size_t len = utf8_decode(p, &c);

		if (!len) {
			fputs("\\ufffd", f);
			p++;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", (int)c);
		else if (c == '\n') /* failure details are lines: legible */
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", (unsigned)c);
		else
			fwrite(p, 1, len, f);
		p += len;
	}
	fputc('"', f);
}

static int xml_char_ok(uint32_t c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
	       (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/* Line breaks and tabs in an attribute are character references, since a
 * parser would otherwise turn them into spaces; so is a CR anywhere, since
 * a parser would otherwise turn it into a line feed. */
static void xml_put(FILE *f, const char *s, int attr)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		uint32_t c;
		size_t len = utf8_decode(p, &c);

		if (!len || !xml_char_ok(c))
			fputs(REPLACEMENT_UTF8, f);
		else if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c == '\'')
			fputs("&apos;", f);
		else if (c == '\r' || (attr && (c == '\n' || c == '\t')))
			fprintf(f, "&#%u;", (unsigned)c);
		else
			fwrite(p, 1, len, f);
		p += len ? len : 1;
	}
}

void xml_text(FILE *f, const char *s)
{
	xml_put(f, s, 0);
}

void xml_attr(FILE *f, const char *s)
{
	xml_put(f, s, 1);
}
