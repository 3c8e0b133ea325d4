/* tests/test_csv_data.c - CSV datasets through libcsv, and train/test pairing. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"

static char tmpdir[64];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/afl_csv_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
    DIR *dir = opendir(tmpdir);
    if (!dir)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(dir)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
    closedir(dir);
    rmdir(tmpdir);
}

TestSuite(csv_data, .init = setup, .fini = teardown);

static const char *write_file(const char *name, const char *text)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    FILE *f = fopen(buf[k], "wb");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return buf[k];
}

static void load_ok(const char *text, const char *label, afl_dataset *d)
{
    const char *p = write_file("ok.csv", text);
    afl_err err = {0};
    cr_assert_eq(afl_csv_dataset_load(p, label, d, &err), AFL_OK, "%s", err.msg);
}

/* Expects AFL_EINPUT and a message containing "<file>:<line>:" (line > 0) or the file name,
 * and the needles. */
static void load_fails(const char *text, const char *label, int line, const char *n1,
                       const char *n2)
{
    const char *p = write_file("bad.csv", text);
    afl_dataset d;
    afl_err err = {0};
    int rc = afl_csv_dataset_load(p, label, &d, &err);
    cr_assert_eq(rc, AFL_EINPUT, "rc %d: %s", rc, err.msg);
    cr_assert_null(d.x);
    cr_assert_null(d.y);
    char where[300];
    if (line > 0)
        snprintf(where, sizeof where, "%s:%d: ", p, line);
    else
        snprintf(where, sizeof where, "%s", p);
    cr_assert(strstr(err.msg, where), "message lacks '%s': %s", where, err.msg);
    if (n1)
        cr_assert(strstr(err.msg, n1), "message lacks '%s': %s", n1, err.msg);
    if (n2)
        cr_assert(strstr(err.msg, n2), "message lacks '%s': %s", n2, err.msg);
}

Test(csv_data, good_file_gives_features_in_column_order_and_labels)
{
    afl_dataset d;
    load_ok("a,b,label\n1,2,0\n3.5,-4e1,2\n0.25, 7 ,1\n", "label", &d);
    cr_assert_eq(d.n, 3);
    cr_assert_eq(d.c, 1);
    cr_assert_eq(d.h, 1);
    cr_assert_eq(d.w, 2);
    cr_assert_eq(d.dim, 2);
    cr_assert_eq(d.is_image, 0);
    cr_assert_eq(d.n_classes, 3);
    const float want[6] = {1, 2, 3.5f, -40, 0.25f, 7};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(d.x[i], want[i]);
    cr_assert_eq(d.y[0], 0);
    cr_assert_eq(d.y[1], 2);
    cr_assert_eq(d.y[2], 1);
    afl_dataset_free(&d);
}

Test(csv_data, label_column_is_found_by_name_anywhere)
{
    afl_dataset d;
    load_ok("f1,class,f2\n1,4,2\n3,0.0,4\n", "class", &d);
    cr_assert_eq(d.n, 2);
    cr_assert_eq(d.w, 2);
    cr_assert_eq(d.n_classes, 5);
    cr_assert_eq(d.y[0], 4);
    cr_assert_eq(d.y[1], 0);
    cr_assert_eq(d.x[0], 1);
    cr_assert_eq(d.x[1], 2);
    cr_assert_eq(d.x[2], 3);
    cr_assert_eq(d.x[3], 4);
    afl_dataset_free(&d);
}

Test(csv_data, quoted_fields_crlf_and_a_byte_order_mark_are_read)
{
    afl_dataset d;
    load_ok("\xEF\xBB\xBF\"x,1\",\"say \"\"hi\"\"\",\"label\"\r\n\"1.5\",\" 2 \",\"1\"\r\n\r\n"
            "3,4,0",
            "label", &d);
    cr_assert_eq(d.n, 2);
    cr_assert_eq(d.w, 2);
    cr_assert_eq(d.x[0], 1.5f);
    cr_assert_eq(d.x[1], 2.0f);
    cr_assert_eq(d.x[2], 3.0f);
    cr_assert_eq(d.y[0], 1);
    cr_assert_eq(d.y[1], 0);
    afl_dataset_free(&d);
}

Test(csv_data, missing_label_column_lists_the_columns)
{
    load_fails("alpha,beta,gamma\n1,2,3\n", "label", 1, "no column named 'label'",
               "'alpha', 'beta', 'gamma'");
}

Test(csv_data, ragged_row_names_file_and_line)
{
    load_fails("a,b,label\n1,2,0\n\n3,0\n", "label", 4, "2 fields", "3 columns");
    load_fails("a,b,label\n1,2,0\n3,4,0,\n", "label", 3, "4 fields", "3 columns");
}

Test(csv_data, non_number_names_file_line_and_column)
{
    load_fails("a,b,label\n1,2,0\n3,4,1\n5,abc,0\n", "label", 4, "column 'b'", "'abc'");
    load_fails("a,b,label\n1,2x,0\n", "label", 2, "column 'b'", "expected a finite number");
    load_fails("a,b,label\n1,nan,0\n", "label", 2, "column 'b'", "'nan'");
    load_fails("a,b,label\n,2,0\n", "label", 2, "column 'a' is empty", "expected a number");
}

Test(csv_data, line_numbers_count_lines_inside_quoted_fields)
{
    load_fails("\"two\nline\",label\n1,0\nx,1\n", "label", 4, "column 'two\\nline'", "'x'");
}

Test(csv_data, negative_label_is_refused)
{
    load_fails("a,label\n1,0\n2,-1\n", "label", 3, "label column 'label' is -1", "non-negative");
}

Test(csv_data, non_integer_label_is_refused)
{
    load_fails("a,label\n1,2.5\n", "label", 2, "'2.5'", "non-negative integer");
    load_fails("a,label\n1,cat\n", "label", 2, "'cat'", "non-negative integer");
    load_fails("a,label\n1,1e9\n", "label", 2, "below 65536", NULL);
}

Test(csv_data, empty_file_is_refused)
{
    load_fails("", "label", 0, "empty file", "header row");
    load_fails("\n\n", "label", 0, "empty file", NULL);
}

Test(csv_data, numeric_first_row_is_a_missing_header)
{
    load_fails("1,2,0\n3,4,1\n", "label", 1, "missing header", "header row");
}

Test(csv_data, header_without_rows_or_features_is_refused)
{
    load_fails("a,label\n", "label", 0, "no data rows", NULL);
    load_fails("label\n1\n", "label", 1, "only the label column", NULL);
    load_fails("label,a,label\n1,2,3\n", "label", 1, "appears twice", NULL);
}

Test(csv_data, malformed_csv_reports_libcsv_error_with_line)
{
    load_fails("a,label\n1,0\n\"2\"x,1\n", "label", 3, "malformed CSV", "libcsv");
    load_fails("a,label\n1,0\n\"2,1\n", "label", 3, "malformed CSV", "quoted field");
}

Test(csv_data, missing_file_is_an_io_error)
{
    afl_dataset d;
    afl_err err = {0};
    char p[300];
    snprintf(p, sizeof p, "%s/nope.csv", tmpdir);
    cr_assert_eq(afl_csv_dataset_load(p, "label", &d, &err), AFL_EIO);
    cr_assert(strstr(err.msg, p), "%s", err.msg);
}

Test(csv_data, pair_check_takes_the_larger_class_count)
{
    afl_dataset tr, te;
    load_ok("a,b,label\n1,2,0\n3,4,1\n", "label", &tr);
    load_ok("a,b,label\n1,2,4\n", "label", &te);
    afl_err err = {0};
    cr_assert_eq(afl_dataset_check_pair(&tr, &te, "train.csv", "test.csv", &err), AFL_OK);
    cr_assert_eq(tr.n_classes, 5);
    cr_assert_eq(te.n_classes, 5);
    afl_dataset_free(&tr);
    afl_dataset_free(&te);
}

Test(csv_data, pair_with_different_features_names_both_files)
{
    afl_dataset tr, te;
    load_ok("a,b,label\n1,2,0\n", "label", &tr);
    load_ok("a,b,c,label\n1,2,3,0\n", "label", &te);
    afl_err err = {0};
    cr_assert_eq(afl_dataset_check_pair(&tr, &te, "train.csv", "test.csv", &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "train.csv has 2 features"), "%s", err.msg);
    cr_assert(strstr(err.msg, "test.csv has 3"), "%s", err.msg);
    afl_dataset_free(&tr);
    afl_dataset_free(&te);
}
