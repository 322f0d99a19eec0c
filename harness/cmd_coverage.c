/* ist-torture coverage: coverage maps (of sweeps, replays, fuzzing jobs,
 * shards) merged and shown against the stubs' own code: an annotated
 * listing and a summary per stub, and on request lcov, HTML, JSON and the
 * merged map. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "coverage_report.h"
#include "crashfile.h"

/* Is name in the comma-separated list (or the list "all")? */
static int listed(const char *list, const char *name)
{
	size_t len = strlen(name);

	if (!strcmp(list, "all"))
		return 1;
	for (const char *p = list; p && *p;
	     p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return 1;
	return 0;
}

struct loaded {
	struct guest_image img;
	struct guest_layout lay;
	char path[4096];
};

/* The stub's image from the catalogue, which must be the build the map
 * was made of. */
static int load_stub(const struct cli *cli, const struct catalogue *cat,
		     const struct cov_stub *s, struct loaded *l)
{
	int i = catalogue_find(cat, s->name);
	char err[600];

	if (i < 0) {
		fprintf(stderr,
			"ist-torture: the map has stub %s, which %s does not "
			"(give the --guest-dir it was built in)\n",
			s->name, cli->guest_dir);
		return -1;
	}
	catalogue_path(cat, (size_t)i, l->path, sizeof(l->path));
	if (image_load(l->path, &l->img, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		return -1;
	}
	if (guest_layout_read(&l->img, &l->lay, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		image_free(&l->img);
		return -1;
	}
	if (crash_image_hash(&l->img) != s->image_hash) {
		fprintf(stderr,
			"ist-torture: the map's %s is another build (image "
			"%016llx) than %s (%016llx): show it with the build it "
			"was made of, or sweep again\n",
			s->name, (unsigned long long)s->image_hash, l->path,
			(unsigned long long)crash_image_hash(&l->img));
		image_free(&l->img);
		return -1;
	}
	return 0;
}

int cmd_coverage(const struct cli *cli, const struct catalogue *cat)
{
	struct cov_image *ci = NULL;
	struct loaded *l = NULL;
	struct coverage map;
	int status = EXIT_USAGE;
	char err[700], tmp_lcov[] = "/tmp/ist-torture-lcov-XXXXXX";
	const char *lcov = cli->lcov;
	size_t n = 0;

	coverage_init(&map);
	for (int f = 0; f < cli->nfiles; f++)
		if (coverage_read(cli->files[f], &map, err, sizeof(err))) {
			fprintf(stderr, "ist-torture: %s\n", err);
			goto out;
		}
	ci = calloc(map.n + 1, sizeof(*ci));
	l = calloc(map.n + 1, sizeof(*l));
	if (!ci || !l)
		goto out;
	for (size_t i = 0; i < map.n; i++) {
		if (!listed(cli->stubs, map.stubs[i].name))
			continue;
		if (load_stub(cli, cat, &map.stubs[i], &l[n]))
			goto out;
		ci[n] = (struct cov_image){.stub = &map.stubs[i],
					   .img = &l[n].img,
					   .lay = &l[n].lay,
					   .elf_path = l[n].path};
		n++;
	}
	if (!n) {
		fprintf(stderr,
			"ist-torture: no stub of --stub %s in the map%s: it "
			"has %zu stub%s\n",
			cli->stubs, cli->nfiles > 1 ? "s" : "", map.n,
			map.n == 1 ? "" : "s");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		coverage_listing(stdout, &ci[i]);
		coverage_summary(stdout, &ci[i]);
	}
	/* --html alone: the lcov file genhtml reads is a temporary one. */
	if (cli->html && !lcov) {
		int fd = mkstemp(tmp_lcov);

		if (fd < 0) {
			perror("ist-torture: a temporary file for lcov");
			goto out;
		}
		close(fd);
		lcov = tmp_lcov;
	}
	if ((lcov && coverage_write_lcov(lcov, ci, n, err, sizeof(err))) ||
	    (cli->html &&
	     coverage_render_html(lcov, cli->html, err, sizeof(err))) ||
	    (cli->json_out &&
	     coverage_write_json(cli->json_out, ci, n, err, sizeof(err))) ||
	    (cli->merge_out &&
	     coverage_write(cli->merge_out, &map, err, sizeof(err)))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		goto out;
	}
	status = EXIT_AS_DECLARED;
out:
	if (lcov == tmp_lcov)
		unlink(tmp_lcov);
	for (size_t i = 0; i < n; i++)
		image_free(&l[i].img);
	free(l);
	free(ci);
	coverage_free(&map);
	return status;
}
