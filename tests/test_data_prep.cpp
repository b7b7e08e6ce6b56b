// DataFrame, CSV, split/RNG, checksum, and the cleaning steps.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>

#include "golden/sklearn_golden.hpp"
#include "golden/tables/tables_golden.hpp"
#include "mlops/csv.hpp"
#include "mlops/detail/rng.hpp"
#include "mlops/eval/split.hpp"
#include "mlops/pipeline.hpp"
#include "mlops/io/card.hpp"
#include "mlops/io/fingerprint.hpp"
#include "mlops/learn/gd_kernels.hpp"
#include "mlops/prep/steps.hpp"
#include "support.hpp"

using namespace mlops;

namespace {
template <class T>
DataFrame<T> golden_frame(const double* x) {
  DataFrame<T> f;
  for (int j = 0; j < golden::d; ++j) {
    std::vector<T> c(x + j * golden::n, x + (j + 1) * golden::n);
    f.add_column("x" + std::to_string(j), std::span<const T>(c));
  }
  return f;
}
template <class E, class F>
E catch_error(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e;
  }
  FAIL("expected an exception");
  throw;  // unreachable
}
}  // namespace

TEST_CASE_TEMPLATE("DataFrame basics: shape, select, drop, filter, take, head", T, float, double) {
  auto f = DataFrame<T>::from_columns({"a", "b", "c"}, {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}});
  CHECK(f.shape() == std::pair<std::size_t, std::size_t>{4, 3});
  CHECK(f.column("b")[2] == T(7));
  CHECK(f.column(2)[0] == T(9));
  auto s = f.select({"c", "a"});
  CHECK(s.names() == std::vector<std::string>{"c", "a"});
  CHECK(f.drop({"b"}).names() == std::vector<std::string>{"a", "c"});
  const std::uint8_t mask[] = {1, 0, 0, 1};
  auto g = f.filter(mask);
  REQUIRE(g.rows() == 2);
  CHECK(g.column("a")[1] == T(4));
  const std::size_t idx[] = {3, 0, 3};
  auto t = f.take(idx);
  CHECK(t.column("c")[0] == T(12));
  CHECK(t.column("c")[2] == T(12));
  CHECK(f.head(2).rows() == 2);
  auto m = f.to_matrix({"b", "a"});
  CHECK(m(3, 0) == T(8));
  CHECK(m(3, 1) == T(4));
  CHECK(f.column_map("a").sum() == T(10));
  CHECK_THROWS_AS(f.column("zzz"), schema_error);
  CHECK_THROWS_AS(f.drop({"zzz"}), schema_error);
  CHECK_THROWS_AS(f.add_column("a", std::vector<T>{1, 2, 3, 4}), data_error);
  CHECK_THROWS_AS(f.add_column("d", std::vector<T>{1, 2}), data_error);
  const std::uint8_t bad_mask[] = {1};
  CHECK_THROWS_AS(f.filter(bad_mask), data_error);
  const std::size_t bad_idx[] = {4};
  CHECK_THROWS_AS(f.take(bad_idx), argument_error);
}

TEST_CASE("describe matches pandas (count, mean, std, quartiles with NaN)") {
  std::vector<double> c(golden::qcol, golden::qcol + golden::n);
  for (auto& v : c)
    if (v == -999.0) v = std::nan("");
  DataFrame<double> f;
  f.add_column("q", std::span<const double>(c));
  const auto d = f.describe();
  REQUIRE(d.rows.size() == 1);
  const auto& r = d.rows[0];
  const double* g = golden::qcol_describe;
  CHECK(r.count == static_cast<std::size_t>(g[0]));
  CHECK(r.missing == 3);
  CHECK(r.mean == doctest::Approx(g[1]).epsilon(1e-14));
  CHECK(r.std == doctest::Approx(g[2]).epsilon(1e-13));
  CHECK(r.min == g[3]);
  CHECK(r.q25 == doctest::Approx(g[4]).epsilon(1e-15));
  CHECK(r.q50 == doctest::Approx(g[5]).epsilon(1e-15));
  CHECK(r.q75 == doctest::Approx(g[6]).epsilon(1e-15));
  CHECK(r.max == g[7]);
  const std::string table = fmt::format("{}", d);
  CHECK(table.find("missing") != std::string::npos);
  CHECK(table.find("75%") != std::string::npos);
}

TEST_CASE("histogram-narrowed quantiles are exact on large, tied, skewed and NaN-holed data") {
  detail::xoshiro256ss rng(9);
  std::vector<double> scratch;
  const double probs[] = {0.0, 0.01, 0.25, 0.5, 0.75, 0.999, 1.0};
  for (int kind = 0; kind < 6; ++kind) {
    std::vector<double> v(50'001);
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double u = rng.uniform01();
      switch (kind) {
        case 0: v[i] = u; break;                                  // uniform
        case 1: v[i] = std::floor(u * 7); break;                  // heavy ties
        case 2: v[i] = u < 0.001 ? 1e12 * u : u; break;           // outliers squeeze the rest into one bucket
        case 3: v[i] = i % 10 == 0 ? std::nan("") : std::exp(20 * u); break;  // skewed, with NaN
        case 4: v[i] = static_cast<double>(i); break;             // sorted
        case 5: v[i] = i % 12 == 6 ? 0.0 : u + 1; break;          // periodic: the strided sample sees only zeros
      }
    }
    std::vector<double> present;
    for (double x : v)
      if (!std::isnan(x)) present.push_back(x);
    std::sort(present.begin(), present.end());
    double out[7];
    CHECK(detail::nan_quantiles<double>(v, probs, out, scratch) == present.size());
    for (int q = 0; q < 7; ++q) {
      const double h = (static_cast<double>(present.size()) - 1) * probs[q];
      const auto lo = static_cast<std::size_t>(std::floor(h));
      const double want = lo + 1 < present.size() ? detail::numpy_lerp(present[lo], present[lo + 1], h - static_cast<double>(lo)) : present[lo];
      CHECK(out[q] == want);
    }
  }
}

TEST_CASE("quantiles by selection equal sorting with numpy interpolation") {
  detail::xoshiro256ss rng(3);
  for (std::size_t n : {1u, 2u, 3u, 10u, 101u, 1000u}) {
    std::vector<double> v(n);
    for (auto& x : v) x = std::floor(rng.uniform01() * 20);  // many ties
    auto sorted = v;
    std::sort(sorted.begin(), sorted.end());
    const double probs[] = {0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0};
    double out[7];
    detail::quantiles_inplace<double>(std::span<double>(v), probs, out);
    for (int q = 0; q < 7; ++q) {
      const double h = (static_cast<double>(n) - 1) * probs[q];
      const auto lo = static_cast<std::size_t>(std::floor(h));
      const double want = lo + 1 < n ? detail::numpy_lerp(sorted[lo], sorted[lo + 1], h - static_cast<double>(lo)) : sorted[lo];
      CHECK(out[q] == want);
    }
  }
}

TEST_CASE("read_csv: RFC 4180 quoting, CRLF, BOM, missing markers") {
  const std::string text =
      "\xEF\xBB\xBF"
      "\"a\",\"b, with comma\",\"c \"\"quoted\"\"\"\r\n"
      "1,2.5,-3e2\r\n"
      "\"4\",NA,\r\n"
      "\n"
      "  7 ,null,+8\r\n"
      "NaN,\"1\",9";
  const auto f = parse_csv<double>(text);
  REQUIRE(f.shape() == std::pair<std::size_t, std::size_t>{4, 3});  // the blank line is skipped
  CHECK(f.names() == std::vector<std::string>{"a", "b, with comma", "c \"quoted\""});
  CHECK(f.column(0)[0] == 1);
  CHECK(f.column(2)[0] == -300);
  CHECK(f.column(0)[1] == 4);
  CHECK(std::isnan(f.column(1)[1]));
  CHECK(std::isnan(f.column(2)[1]));
  CHECK(f.column(0)[2] == 7);
  CHECK(std::isnan(f.column(1)[2]));
  CHECK(f.column(2)[2] == 8);
  CHECK(std::isnan(f.column(0)[3]));
  CHECK(f.column(1)[3] == 1);
  CHECK(f.column(2)[3] == 9);  // no newline at the end of the input
}

TEST_CASE("read_csv: newline and delimiter inside quotes, no trailing newline, header only, custom delimiter") {
  const auto f = parse_csv<double>("\"x\ny\";z\n1;2\n", CsvOptions{';'});
  CHECK(f.names()[0] == "x\ny");
  CHECK(f.column("z")[0] == 2);
  const auto h = parse_csv<double>("a,b\n");
  CHECK(h.rows() == 0);
  CHECK(h.cols() == 2);
  CsvOptions no_header;
  no_header.header = false;
  const auto nh = parse_csv<double>("1,2\n3,4", no_header);
  CHECK(nh.names() == std::vector<std::string>{"column_0", "column_1"});
  CHECK(nh.column(1)[1] == 4);
}

TEST_CASE("read_csv sizes columns by the text's lines; more or fewer records than lines read the same") {
  CHECK(detail::csv_rows_hint("a,b\n1,2\n3,4\n", true) == 2);
  CHECK(detail::csv_rows_hint("a,b\n1,2\n3,4", true) == 2);
  CHECK(detail::csv_rows_hint("1,2\n3,4\n", false) == 2);
  CHECK(detail::csv_rows_hint("", true) == 0);
  CHECK(detail::csv_rows_hint(std::string_view{}, true) == 0);  // no data at all (a null pointer)
  CHECK_THROWS_AS((void)parse_csv<double>(std::string_view{}), parse_error);  // empty input: csv_empty, as before
  CHECK(detail::csv_rows_hint("a\r1\r2\r", true) == 0);  // CR line ends: no hint, the columns grow
  // Records per line feed: as many (the hint exact), fewer (blank lines, quoted line
  // feeds), more (CR line ends): every value read, in order, whatever the sizing.
  for (const char* sep : {"\n", "\r\n", "\n\n", "\r"}) {
    CAPTURE(std::string(sep) == "\r" ? "CR" : sep);
    std::string text = std::string("x,t,w") + sep;
    for (int r = 0; r < 500; ++r) text += std::to_string(r) + (r % 7 == 0 ? ",\"two\nlines\"" : ",a") + ",2026-01-0" + std::to_string(1 + r % 9) + sep;
    const auto f = parse_csv<double>(text);
    REQUIRE(f.rows() == 500);
    for (std::size_t r = 0; r < 500; ++r) CHECK(f.column("x")[r] == static_cast<double>(r));
    CHECK(f.categorical("t").n_levels() == 2);
    CHECK(f.datetime("w").values[499] == f.datetime("w").values[4]);
  }
}

TEST_CASE("read_csv's number fast path gives from_chars' bits; its field scan finds every delimiter") {
  // parse_simple_decimal (plain decimals of at most 19 digits, 2^53, 10^+-22) answers
  // exactly as from_chars; everything else it leaves to from_chars.
  auto same = [](const std::string& s) {
    double fast = 0, ref = 0;
    const bool took = detail::parse_simple_decimal(s, fast);
    const auto r = std::from_chars(s.data(), s.data() + s.size(), ref);
    const bool whole = r.ec == std::errc() && r.ptr == s.data() + s.size();
    if (took) {
      CAPTURE(s);
      CHECK(whole);
      CHECK(std::bit_cast<std::uint64_t>(fast) == std::bit_cast<std::uint64_t>(ref));
    }
    return took;
  };
  for (const char* s : {"0", "-0", "0.5", ".5", "5.", "-1.17965", "12.4465", "1e22", "1e-22", "123456789012345", "9007199254740992",
                        "1.5E3", "2e+5", "-3.25e-4", "0.000000000000000001"})
    CHECK(same(s));
  for (const char* s : {"", "-", ".", "1e", "1e+", "e5", "1e23", "1e-23", "9007199254740993", "12345678901234567890", "inf", "nan", "1x",
                        "0x10", "1,5", "1e00000005", "--1", "123456789012345678", "0.0000000000000000001"})
    CHECK_FALSE(same(s));
  detail::xoshiro256ss rng(29);
  std::size_t taken = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = rng.bounded(3) == 0 ? "-" : "";
    const auto digits = 1 + rng.bounded(19), point = rng.bounded(digits + 1);
    for (std::uint64_t k = 0; k < digits; ++k) {
      if (k == point && k > 0) s += '.';
      s += static_cast<char>('0' + rng.bounded(10));
    }
    if (rng.bounded(4) == 0) s += "e" + std::to_string(static_cast<int>(rng.bounded(50)) - 25);
    taken += same(s);
  }
  CHECK(taken > 10000);  // most of them take the fast path
  // Fields of every length up to 40 bytes, ended by the delimiter, CRLF, LF or the end.
  for (std::size_t len = 0; len <= 40; ++len)
    for (const char* end : {",", "\r\n", "\n", ""}) {
      const std::string field(len, 'x'), text = "ab" + field + end + "yz";
      CHECK(detail::field_end(text, 2, ',') == (*end ? 2 + len : text.size()));  // no stop byte: the end
    }
  // The level dictionary: 5,000 distinct texts (the table grows many times), each seen
  // three times; codes in order of first appearance, counts exact.
  std::string levels_text = "t\n";
  for (int rep = 0; rep < 3; ++rep)
    for (int k = 0; k < 5000; ++k) levels_text += "level_" + std::to_string(k * 7919 % 5000) + (k % 3 == 0 ? "_long_suffix" : "") + "\n";
  const auto lf = parse_csv<double>(levels_text);
  const auto t = lf.categorical("t");
  REQUIRE(t.n_levels() == 5000);
  for (std::size_t r = 0; r < 15000; ++r) CHECK(static_cast<std::size_t>(t.codes[r]) == r % 5000);
  const auto f = parse_csv<double>("a,b\n0.1,2.5e-3\n-7,123456789.125\n");
  CHECK(f.column("a")[0] == 0.1);
  CHECK(f.column("b")[0] == 2.5e-3);
  CHECK(f.column("a")[1] == -7);
  CHECK(f.column("b")[1] == 123456789.125);
}

namespace {
/// Parses `text` on one thread and on three; checks both give the same frame, or the same
/// error message.
void same_on_threads(const std::string& text, CsvOptions o = {}) {
  REQUIRE(text.size() >= csv_parallel_min_bytes);
  auto read = [&](std::size_t threads) -> std::pair<std::optional<DataFrame<double>>, std::string> {
    o.threads = threads;
    try {
      return {parse_csv<double>(text, o), ""};
    } catch (const parse_error& e) {
      return {std::nullopt, e.what()};
    }
  };
  const auto [one, one_error] = read(1);
  const auto [three, three_error] = read(3);
  CHECK(one_error == three_error);
  REQUIRE(one.has_value() == three.has_value());
  if (!one) return;
  const auto& a = *one;
  const auto& b = *three;
  REQUIRE(a.names() == b.names());
  REQUIRE(a.rows() == b.rows());
  for (const auto& c : a.names()) {
    CAPTURE(c);
    REQUIRE(a.kind(c) == b.kind(c));
    if (a.kind(c) == column_kind::numeric) {
      const auto x = a.column(c), y = b.column(c);
      CHECK(std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0);
    } else if (a.kind(c) == column_kind::categorical) {
      CHECK(*a.categorical(c).levels == *b.categorical(c).levels);
      CHECK(std::equal(a.categorical(c).codes.begin(), a.categorical(c).codes.end(), b.categorical(c).codes.begin()));
    } else {
      CHECK(std::equal(a.datetime(c).values.begin(), a.datetime(c).values.end(), b.datetime(c).values.begin()));
    }
  }
}
}  // namespace

TEST_CASE("read_csv on several threads gives the one-thread frame, or its error and line") {
  detail::xoshiro256ss rng(31);
  // Numbers, levels first met late, dates, missing values, a column empty in its first
  // half, CRLF line ends, blank lines, a byte-order mark.
  auto table = [&](std::size_t rows, const char* eol, auto&& cell) {
    std::string t = "\xEF\xBB\xBFx,level,when,late,y";
    t += eol;
    for (std::size_t r = 0; r < rows; ++r) {
      t += cell(r);
      t += eol;
      if (r % 9973 == 0) t += eol;  // a blank line now and then
    }
    return t;
  };
  auto plain = [&](std::size_t r) {
    return std::to_string(static_cast<double>(rng.bounded(100000)) / 7.0) + ",L" + std::to_string(r < 30000 ? rng.bounded(20) : rng.bounded(40)) +
           ",2026-0" + std::to_string(1 + r % 9) + "-1" + std::to_string(r % 10) + "," + (r < 30000 ? "" : std::to_string(r)) + "," +
           (r % 17 == 0 ? "NA" : std::to_string(r % 101));
  };
  same_on_threads(table(60000, "\n", plain));
  same_on_threads(table(60000, "\r\n", plain));
  CsvOptions typed;
  typed.column_types["y"] = csv_type::categorical;
  same_on_threads(table(60000, "\n", plain), typed);
  // Stray values late in a numeric column: the one-thread error, at its line.
  same_on_threads(table(60000, "\n", [&](std::size_t r) { return r == 51234 ? std::string("1,a,2026-01-01,3,oops") : plain(r); }));
  // Many strays (the column becomes categorical, read again), a ragged row, an
  // out-of-range number where a part would meet it first, a forced column's bad value.
  same_on_threads(table(60000, "\n", [&](std::size_t r) { return r > 45000 && r % 3 == 0 ? "1,a,2026-01-01,3,t" + std::to_string(r % 5) : plain(r); }));
  same_on_threads(table(60000, "\n", [&](std::size_t r) { return r == 40000 ? std::string("1,a,2026-01-01") : plain(r); }));
  same_on_threads(table(60000, "\n", [&](std::size_t r) { return "1," + std::string(r >= 40000 ? "1e999" : (r % 2 ? "b" : "c")) + ",2026-01-01,3,4"; }));
  CsvOptions numeric;
  numeric.column_types["level"] = csv_type::numeric;
  same_on_threads(table(60000, "\n", [&](std::size_t r) { return "1," + std::to_string(r == 59000 ? 0 : 1) + (r == 59000 ? "x" : "") + ",2026-01-01,3,4"; }), numeric);
  // Quotes anywhere: one thread (a quoted field may hold a line end).
  same_on_threads(table(60000, "\n", [&](std::size_t r) { return r == 10 ? std::string("1,\"a\nb\",2026-01-01,3,4") : plain(r); }));
}

TEST_CASE("read_csv: files as shipped - a preamble, comment lines, single quotes, count lines") {
  auto error_of = [](std::string_view text, const CsvOptions& o = {}) -> std::string {
    try {
      (void)parse_csv<double>(text, o);
    } catch (const parse_error& e) {
      return e.what();
    }
    return "no error";
  };
  // skip_rows: physical lines (any line end) before the header; errors keep the file's lines.
  CsvOptions skip;
  skip.skip_rows = 2;
  const auto f = parse_csv<double>("\xEF\xBB\xBF" "exported by a tool\r\nwith a second line;;\nx,y\n1,2\n3,4\n", skip);
  CHECK(f.names() == std::vector<std::string>{"x", "y"});
  CHECK(f.rows() == 2);
  CHECK(f.column("y")[1] == 4.0);
  skip.source = "t.csv";
  skip.column_types["y"] = csv_type::numeric;
  CHECK(error_of("pre\namble\nx,y\n1,2\n3,oops\n5,6\n", skip).find("t.csv:5:2") != std::string::npos);
  skip.skip_rows = 9;  // more lines than the text holds: nothing left
  CHECK(error_of("x,y\n1,2\n", skip).find("empty") != std::string::npos);
  // Comment lines: before the header, between records, at the end without a line end;
  // a comment character inside a line or a field is data.
  CsvOptions hash;
  hash.comment = '#';
  hash.source = "c.csv";
  const auto g = parse_csv<double>("# generated 2026-12-07\n#, , , misleading\nname,v\n# a note\nA#1,1\r\n#\nB,2\n# last", hash);
  CHECK(g.names() == std::vector<std::string>{"name", "v"});
  REQUIRE(g.rows() == 2);
  CHECK(g.categorical("name").label(0) == "A#1");
  CHECK(g.column("v")[1] == 2.0);
  CHECK(error_of("# c\nx,y\n# c\n1,2\n1,2,3\n", hash).find("c.csv:5:") != std::string::npos);
  CHECK(parse_csv<double>("#x,y\n1,2\n").names() == std::vector<std::string>{"#x", "y"});  // off by default
  CsvOptions clash;
  clash.comment = '"';
  CHECK_THROWS_AS((void)parse_csv<double>("x\n1\n", clash), argument_error);
  // Single-quoted names (statsmodels' spector as shipped).
  CsvOptions single;
  single.quote = '\'';
  const auto h = parse_csv<double>("'GPA','TUCE','GRADE'\n2.66,20,0\n2.89,22,0\n", single);
  CHECK(h.names() == std::vector<std::string>{"GPA", "TUCE", "GRADE"});
  // scikit-learn's count lines, named with the options that read the file.
  std::string iris = "6,4,setosa,versicolor,virginica\n", boston = "4,2,,\nCRIM,ZN,MEDV\n", cancer = "3,4,malignant,benign\n";
  for (int r = 0; r < 6; ++r) iris += fmt::format("5.{},3.{},1.4,0.2,{}\n", r, r, r % 3);
  for (int r = 0; r < 4; ++r) boston += fmt::format("0.0{},18,2{}\n", r, r);
  for (int r = 0; r < 3; ++r) cancer += fmt::format("17.{},10.3,1.1,2.2,{}\n", r, r % 2);
  boston = "4,2,\nCRIM,ZN,MEDV\n" + boston.substr(boston.find("0.00"));
  const auto e_iris = error_of(iris), e_boston = error_of(boston), e_cancer = error_of(cancer);
  CHECK(e_iris.find("count line") != std::string::npos);
  CHECK(e_iris.find("--skip-rows 1") != std::string::npos);
  CHECK(e_iris.find("--no-header") != std::string::npos);
  CHECK(e_boston.find("--skip-rows 1") != std::string::npos);
  CHECK(e_boston.find("--no-header") == std::string::npos);  // the header follows the count line
  CHECK(e_cancer.find("row has 5 fields but the header has 4") != std::string::npos);
  CHECK(e_cancer.find("--skip-rows 1") != std::string::npos);
  CHECK(e_cancer.find("--no-header") != std::string::npos);
  CsvOptions fixed;
  fixed.skip_rows = 1;
  CHECK(parse_csv<double>(boston, fixed).names() == std::vector<std::string>{"CRIM", "ZN", "MEDV"});
  fixed.header = false;
  CHECK(parse_csv<double>(iris, fixed).rows() == 6);
  CHECK(parse_csv<double>(cancer, fixed).rows() == 3);
  CsvOptions unchecked;
  unchecked.check_header = false;  // taken as names when asked
  CHECK(parse_csv<double>(iris, unchecked).names().front() == "6");
  // Several threads: comments and skipped lines, the one-thread frame and errors.
  std::string big = "tool output\n# comment\nx,y\n";
  constexpr std::size_t lines = 150000;  // over csv_parallel_min_bytes
  for (std::size_t r = 0; r < lines; ++r) big += r % 1000 == 7 ? "# note\n" : fmt::format("{},{}\n", r, r % 13);
  CsvOptions both;
  both.skip_rows = 1;
  both.comment = '#';
  same_on_threads(big, both);
  CHECK(parse_csv<double>(big, both).rows() == lines - lines / 1000);
  same_on_threads(big + "1,2,3\n", both);
  both.threads = 1;
  CHECK(error_of(big + "1,2,3\n", both).find(fmt::format(":{}:", 3 + lines + 1)) != std::string::npos);
}

TEST_CASE("read_csv: every kind of bad input is a typed error with file, line and field") {
  CsvOptions o;
  o.source = "data.csv";
  auto ragged = catch_error<parse_error>([&] { parse_csv<double>("a,b\n1,2\n3\n", o); });
  CHECK(ragged.code() == errc::csv_ragged_row);
  CHECK(ragged.line() == 3);
  CHECK(std::string(ragged.what()).find("data.csv:3") != std::string::npos);

  CsvOptions numeric = o;  // every column must be numbers
  numeric.default_type = csv_type::numeric;
  auto text = catch_error<parse_error>([&] { parse_csv<double>("a,b\n1,2\n3,abc\n", numeric); });
  CHECK(text.code() == errc::csv_bad_number);
  CHECK(text.line() == 3);
  CHECK(text.column() == 2);
  CHECK(std::string(text.what()).find("'abc'") != std::string::npos);
  CHECK(std::string(text.what()).find("column 'b'") != std::string::npos);

  auto unclosed = catch_error<parse_error>([&] { parse_csv<double>("a,b\n1,\"2\n3,4\n", o); });
  CHECK(unclosed.code() == errc::csv_unclosed_quote);
  CHECK(unclosed.line() == 2);

  CHECK(catch_error<parse_error>([&] { parse_csv<double>("a,a\n1,2\n", o); }).code() == errc::csv_duplicate_header);
  CHECK(catch_error<parse_error>([&] { parse_csv<double>("", o); }).code() == errc::csv_empty);
  CHECK(catch_error<parse_error>([&] { parse_csv<double>("\xEF\xBB\xBF\n\n", o); }).code() == errc::csv_empty);
  CHECK(catch_error<parse_error>([&] { parse_csv<double>("a\n\"1\"x\n", o); }).code() == errc::csv_bad_quote);
  CHECK(catch_error<parse_error>([&] { parse_csv<float>("a\n1e39\n", o); }).code() == errc::csv_bad_number);
  CHECK_THROWS_AS(read_csv<double>("/nonexistent/file.csv"), io_error);
  // Every error is an mlops::error with a stable id.
  CHECK(text.id() == "csv.bad_number");

  // Names are checked where they enter: invalid UTF-8 or an absurd length is a typed
  // error naming the field (never a failure later, when a card or the registry writes it).
  const auto latin1 = catch_error<parse_error>([&] { parse_csv<double>("area,pr\xE9is\n1,2\n", o); });
  CHECK(latin1.code() == errc::csv_bad_name);
  CHECK(latin1.column() == 2);
  CHECK(std::string(latin1.what()).find("0xe9") != std::string::npos);
  CHECK(catch_error<parse_error>([&] { parse_csv<double>("a,\xED\xA0\x80\n1,2\n", o); }).code() == errc::csv_bad_name);  // a surrogate
  CHECK(catch_error<parse_error>([&] { parse_csv<double>("a,\xC0\xAF\n1,2\n", o); }).code() == errc::csv_bad_name);  // overlong
  CHECK(catch_error<parse_error>([&] { parse_csv<double>(std::string(5000, 'n') + "\n1\n", o); }).code() == errc::csv_bad_name);
  CHECK(parse_csv<double>("\xC3\xA9t\xC3\xA9,\xE2\x82\xAC,\xF0\x9F\x8F\xA0\n1,2,3\n", o).names()[2] == "\xF0\x9F\x8F\xA0");
  // Every leading byte-order mark goes (a file converted twice has two).
  CHECK(parse_csv<double>("\xEF\xBB\xBF\xEF\xBB\xBF" "area,price\n1,2\n", o).names()[0] == "area");
}

TEST_CASE("read_csv infers numeric, categorical and datetime columns; to_csv writes them back") {
  const std::string text =
      ",state,population,founded,updated,code\n"
      "0,Texas,29.1,1845-12-29,2012-01-01T10:30:00Z,007\n"
      "1,\"New York\",NA,1788-07-26,,12\n"
      "2,Texas,3.5,NA,2012-01-01 12:00:00.25+01:00,7\n"
      "3,,8,2000-02-29,2012-06-30 23:59:59,x\n";
  const auto f = parse_csv<double>(text);
  REQUIRE(f.cols() == 6);
  CHECK(f.kind("Unnamed: 0") == column_kind::numeric);
  CHECK(f.is_id("Unnamed: 0"));  // pandas' index column: kept, but never a default feature
  CHECK_FALSE(f.is_id("state"));
  CHECK(f.kind("state") == column_kind::categorical);
  CHECK(f.kind("population") == column_kind::numeric);
  CHECK(f.kind("founded") == column_kind::datetime);
  CHECK(f.kind("updated") == column_kind::datetime);
  CHECK(f.kind("code") == column_kind::categorical);  // 1 text in 4 values: too many to be a stray
  const auto state = f.categorical("state");
  CHECK(*state.levels == std::vector<std::string>{"Texas", "New York"});  // levels once, in order of appearance
  CHECK(std::vector<std::int32_t>(state.codes.begin(), state.codes.end()) == std::vector<std::int32_t>{0, 1, 0, -1});
  CHECK(state.label(1) == "New York");
  CHECK(state.label(3).empty());
  const auto code = f.categorical("code");
  CHECK(code.label(0) == "007");  // the text as written, not a number
  const auto founded = f.datetime("founded");
  CHECK_FALSE(founded.has_time);
  CHECK(founded.values[0] == detail::days_from_civil(1845, 12, 29) * detail::micros_per_day);
  CHECK(founded.values[2] == missing_time);
  const auto updated = f.datetime("updated");
  CHECK(updated.has_time);
  CHECK(updated.values[0] == (detail::days_from_civil(2012, 1, 1) * 86400 + 10 * 3600 + 30 * 60) * detail::micros_per_second);
  CHECK(updated.values[2] == (detail::days_from_civil(2012, 1, 1) * 86400 + 11 * 3600) * detail::micros_per_second + 250000);  // +01:00 -> UTC
  CHECK(f.missing_counts() == std::vector<std::size_t>{0, 1, 1, 1, 1, 0});
  // The text form reads back to the same frame, kinds and all.
  const auto back = parse_csv<double>(to_csv(f));
  REQUIRE(back.names() == f.names());
  for (std::size_t c = 0; c < f.cols(); ++c) CHECK(back.kind(c) == f.kind(c));
  CHECK(*back.categorical("state").levels == *state.levels);
  const auto bu = back.datetime("updated");
  CHECK(std::equal(bu.values.begin(), bu.values.end(), updated.values.begin()));
  const auto bf = back.datetime("founded");
  CHECK(std::equal(bf.values.begin(), bf.values.end(), founded.values.begin()));
  // Cutting rows keeps kinds, levels (shared) and id marks.
  const std::vector<std::size_t> rows{3, 0};
  const auto t = f.take(rows);
  CHECK(t.categorical("state").levels == state.levels);
  CHECK(t.categorical("state").label(1) == "Texas");
  CHECK(t.datetime("founded").values[0] == founded.values[3]);
  CHECK(t.is_id("Unnamed: 0"));
  const auto sel = f.filter(std::vector<std::uint8_t>{0, 1, 1, 0}).select({"state", "Unnamed: 0"});
  CHECK(sel.rows() == 2);
  CHECK(sel.categorical("state").label(0) == "New York");
  CHECK(sel.is_id("Unnamed: 0"));
  // A numeric accessor on a text column says what the column is.
  const auto wrong = catch_error<schema_error>([&] { (void)f.column("state"); });
  CHECK(wrong.code() == errc::schema_column_type);
  CHECK(std::string(wrong.what()).find("'state' is categorical") != std::string::npos);
  // fmt prints the head as a table with each column's kind.
  const std::string shown = fmt::format("{:2}", f);
  CHECK(shown.find("categorical") != std::string::npos);
  CHECK(shown.find("numeric, id") != std::string::npos);
  CHECK(shown.find("New York") != std::string::npos);
  CHECK(shown.find("1845-12-29") != std::string::npos);
  CHECK(shown.find("... 2 more rows") != std::string::npos);
  CHECK(shown.find("[4 rows x 6 columns]") != std::string::npos);
  auto g = f;
  g.drop_inplace({"code", "updated"});
  CHECK(g.names() == std::vector<std::string>{"Unnamed: 0", "state", "population", "founded"});
  CHECK(g.categorical("state").label(0) == "Texas");
  CHECK(g.is_id("Unnamed: 0"));
}

TEST_CASE("read_csv: stray texts in a number column are an error that says how to go on; types can be forced") {
  std::string text = "a,b\n";
  for (int i = 0; i < 40; ++i) text += std::to_string(i) + "," + std::to_string(i * 2) + "\n";
  std::string strays = text + "40,abc\n";
  CsvOptions o;
  o.source = "t.csv";
  const auto e = catch_error<parse_error>([&] { parse_csv<double>(strays, o); });
  CHECK(e.code() == errc::csv_bad_number);
  CHECK(e.line() == 42);
  CHECK(e.column() == 2);
  const std::string msg = e.what();
  CHECK(msg.find("t.csv:42:2") != std::string::npos);
  CHECK(msg.find("'abc'") != std::string::npos);
  CHECK(msg.find("--categorical b") != std::string::npos);
  CHECK(msg.find("1 of the column's 41 values") != std::string::npos);
  // The stray first: the column starts as text, but its values are numbers.
  const auto first = catch_error<parse_error>([&] { parse_csv<double>("a,b\n0,oops\n" + text.substr(4), o); });
  CHECK(first.code() == errc::csv_bad_number);
  CHECK(first.line() == 2);
  // Listing the text as missing, or forcing the type, reads the file.
  CsvOptions na = o;
  na.na_values.push_back("abc");
  CHECK(std::isnan(parse_csv<double>(strays, na).column("b")[40]));
  CsvOptions cat = o;
  cat.column_types["b"] = csv_type::categorical;
  const auto c = parse_csv<double>(strays, cat);
  CHECK(c.categorical("b").n_levels() == 41);
  CHECK(c.categorical("b").label(40) == "abc");
  CsvOptions skip = o;
  skip.column_types["b"] = csv_type::skip;
  CHECK(parse_csv<double>(strays, skip).names() == std::vector<std::string>{"a"});
  // A forced numeric column fails at its first text; a forced datetime column likewise.
  CsvOptions num = o;
  num.column_types["b"] = csv_type::numeric;
  CHECK(catch_error<parse_error>([&] { parse_csv<double>("a,b\n1,x\n2,y\n", num); }).line() == 2);
  CsvOptions dt = o;
  dt.column_types["a"] = csv_type::datetime;
  const auto bad_date = catch_error<parse_error>([&] { parse_csv<double>("a\n2020-01-01\n2020-02-30\n", dt); });
  CHECK(bad_date.code() == errc::csv_bad_datetime);
  CHECK(bad_date.line() == 3);
  // Numbers are whole fields with one sign: '+-1' is not -1.
  CHECK(catch_error<parse_error>([&] { parse_csv<double>(text + "40,+-1\n", o); }).code() == errc::csv_bad_number);
  // A header of numbers is data.
  const auto hdr = catch_error<parse_error>([&] { parse_csv<double>("1,2\n3,4\n", o); });
  CHECK(hdr.code() == errc::csv_header_is_data);
  CHECK(std::string(hdr.what()).find("header = false") != std::string::npos);
  CsvOptions nh = o;
  nh.header = false;
  CHECK(parse_csv<double>("1,2\n3,4\n", nh).rows() == 2);
}

TEST_CASE("read_csv sniffs the delimiter; a given one wins") {
  CHECK(parse_csv<double>("a;b;c\n1;2,5;3\n4;5;6\n").names() == std::vector<std::string>{"a", "b", "c"});
  CHECK(parse_csv<double>("a\tb\n1\t2\n").names() == std::vector<std::string>{"a", "b"});
  CHECK(parse_csv<double>("a|b\n1|2\n").names() == std::vector<std::string>{"a", "b"});
  CHECK(parse_csv<double>("a b\n1 2\n").names() == std::vector<std::string>{"a", "b"});
  CHECK(parse_csv<double>("\"x;y\",z\n1,2\n").names() == std::vector<std::string>{"x;y", "z"});  // quotes hide delimiters
  CHECK(parse_csv<double>("only\n1\n2\n").cols() == 1);
  CsvOptions semi;
  semi.delimiter = ';';
  CHECK(parse_csv<double>("a,b;c\n1;2\n", semi).names() == std::vector<std::string>{"a,b", "c"});
}

TEST_CASE("ISO 8601 instants: civil dates both ways, offsets, fractions, impossible dates") {
  for (std::int64_t day = -800000; day <= 800000; day += 997) {  // about 4,400 years either side of 1970
    const auto c = detail::civil_from_micros(day * detail::micros_per_day + 3723 * detail::micros_per_second);
    CHECK(detail::days_from_civil(c.year, c.month, c.day) == day);
    CHECK(c.hour == 1);
    CHECK(c.minute == 2);
    CHECK(c.second == 3);
  }
  const auto fri = detail::civil_from_micros(detail::days_from_civil(2026, 12, 4) * detail::micros_per_day);
  CHECK(fri.weekday == 4);  // a Friday (0 = Monday)
  CHECK(fri.yearday == 338);
  CHECK(detail::parse_iso8601("2024-02-29").ok);
  CHECK_FALSE(detail::parse_iso8601("2023-02-29").ok);
  CHECK_FALSE(detail::parse_iso8601("2023-13-01").ok);
  CHECK_FALSE(detail::parse_iso8601("1974Q1").ok);
  CHECK_FALSE(detail::parse_iso8601("2012-01-01x").ok);
  CHECK_FALSE(detail::parse_iso8601("2012-01-01T25:00").ok);
  const auto z = detail::parse_iso8601("2012-01-01T00:00:00Z");
  const auto off = detail::parse_iso8601("2012-01-01T05:30:00+05:30");
  CHECK(z.ok);
  CHECK(off.micros == z.micros);
  CHECK(detail::parse_iso8601("1969-12-31 23:59:59.999999").micros == -1);
  CHECK(detail::format_iso8601(-1, true) == "1969-12-31 23:59:59.999999");
  CHECK(detail::format_iso8601(z.micros, false) == "2012-01-01");
}

TEST_CASE_TEMPLATE("DataFrame typed columns: building, validation, from_matrix, fingerprints", T, float, double) {
  DataFrame<T> f;
  f.add_column("x", std::vector<T>{1, 2, 3});
  const std::vector<std::string> colours{"red", "blue", "?", "red"};
  CHECK_THROWS_AS(f.add_categorical("c", std::span<const std::string>(colours)), data_error);  // 4 rows, frame has 3
  const std::vector<std::string> three{"red", "?", "red"}, missing{"?"};
  f.add_categorical("c", std::span<const std::string>(three), std::span<const std::string>(missing));
  CHECK(f.categorical("c").n_levels() == 1);
  CHECK(f.categorical("c").codes[1] == CategoricalView::missing);
  CHECK_THROWS_AS(f.add_categorical("d", std::vector<std::int32_t>{0, 1, 2}, std::vector<std::string>{"a", "b"}), data_error);
  CHECK_THROWS_AS(f.add_categorical("d", std::vector<std::int32_t>{0, 0, 0}, std::vector<std::string>{"a", "a"}), data_error);
  f.add_datetime("t", {0, missing_time, 86400LL * 1000000}, false);
  CHECK(f.names_of(column_kind::categorical) == std::vector<std::string>{"c"});
  CHECK(f.to_matrix().cols() == 1);  // numeric columns only
  Eigen::Matrix<T, 2, 2> m;
  m << 1, 2, 3, 4;
  const auto fm = DataFrame<T>::from_matrix(m, {"p", "q"});
  CHECK(fm.column("q")[1] == 4);
  CHECK_THROWS_AS(DataFrame<T>::from_matrix(m, {"p"}), data_error);
  // The fingerprint sees text values.
  auto g = f;
  const std::vector<std::string> other{"red", "?", "blue"};
  g.drop_inplace({"c"});
  g.add_categorical("c", std::span<const std::string>(other), std::span<const std::string>(missing));
  g = g.select(f.names());
  CHECK(data_fingerprint(g) != data_fingerprint(f));
  CHECK(data_fingerprint(f.select(f.names())) == data_fingerprint(f));
}

TEST_CASE("Pipeline: text columns no step encodes are refused with what to do; ids are never default features") {
  const auto f = parse_csv<double>(
      ",name,x,y\n0,a,1,2.1\n1,b,2,3.9\n2,c,3,6.2\n3,d,4,7.8\n4,e,5,10.1\n5,f,6,12.2\n");
  const auto p = pipeline<double>().estimator(LinearRegression<double>{});
  const auto e = catch_error<schema_error>([&] { (void)p.fit(f, "y"); });
  CHECK(e.code() == errc::schema_column_type);
  const std::string msg = e.what();
  CHECK(msg.find("'name' (categorical, 6 levels)") != std::string::npos);
  CHECK(msg.find("--drop") != std::string::npos);
  CHECK(msg.find("--encode onehot|ordinal") != std::string::npos);
  CHECK(msg.find("Unnamed: 0") == std::string::npos);  // the pandas index is an id, not a feature
  auto g = f;
  g.set_id("name");
  const auto fitted = p.fit(g, "y");
  CHECK(fitted.features() == std::vector<std::string>{"x"});
  CHECK(std::abs(fitted.model().coef()(0) - 2.0) < 0.1);
  auto with_index = pipeline<double>().features({"Unnamed: 0", "x"}).estimator(LinearRegression<double>{});
  CHECK(with_index.fit(g, "y").features().size() == 2);  // named explicitly, an id may be a feature
}

namespace {
/// A frame of one categorical column from texts.
DataFrame<double> one_text_column(const std::vector<std::string>& v) {
  DataFrame<double> f;
  f.add_categorical("x0", std::span<const std::string>(v));
  return f;
}
std::vector<std::string> repeat_levels(std::initializer_list<std::pair<const char*, int>> counts) {
  std::vector<std::string> out;
  for (const auto& [l, n] : counts)
    for (int i = 0; i < n; ++i) out.emplace_back(l);
  return out;
}
std::vector<std::string> output_names(const FittedOneHotEncoder<double>& e) { return e.encoded_columns()[0].outputs(); }
}  // namespace

TEST_CASE("OneHotEncoder: scikit-learn 1.2's categories, infrequent grouping and ties") {
  // Expected values printed by scikit-learn 1.2.1 (OneHotEncoder(sparse_output=False,
  // handle_unknown="ignore", ...).get_feature_names_out(), infrequent_categories_).
  const auto f = one_text_column(repeat_levels({{"a", 5}, {"b", 20}, {"c", 10}, {"d", 3}, {"e", 3}}));
  const std::vector<std::string> x0{"x0"};
  using V = std::vector<std::string>;
  CHECK(output_names(OneHotEncoder<double>{}.fit(f, x0)) == V{"x0_a", "x0_b", "x0_c", "x0_d", "x0_e"});
  auto e = OneHotEncoder<double>{.min_frequency = 4}.fit(f, x0);
  CHECK(output_names(e) == V{"x0_a", "x0_b", "x0_c", "x0_infrequent"});
  CHECK(e.encoded_columns()[0].infrequent == V{"d", "e"});
  e = OneHotEncoder<double>{.max_categories = 3}.fit(f, x0);
  CHECK(output_names(e) == V{"x0_b", "x0_c", "x0_infrequent"});
  CHECK(e.encoded_columns()[0].infrequent == V{"a", "d", "e"});
  CHECK(output_names(OneHotEncoder<double>{.min_frequency = 0.1}.fit(f, x0)) == V{"x0_a", "x0_b", "x0_c", "x0_infrequent"});
  CHECK(output_names(OneHotEncoder<double>{.min_frequency = 4, .max_categories = 3}.fit(f, x0)) == V{"x0_b", "x0_c", "x0_infrequent"});
  CHECK(output_names(OneHotEncoder<double>{.max_categories = 4}.fit(f, x0)) == V{"x0_a", "x0_b", "x0_c", "x0_infrequent"});
  // Ties: the stable order by count keeps the later of two equally frequent levels.
  CHECK(output_names(OneHotEncoder<double>{.max_categories = 2}.fit(one_text_column({"b", "c", "a", "c", "a"}), x0)) ==
        V{"x0_c", "x0_infrequent"});
  CHECK(output_names(OneHotEncoder<double>{.max_categories = 2}.fit(one_text_column({"b", "c", "a", "b"}), x0)) ==
        V{"x0_b", "x0_infrequent"});
  CHECK_THROWS_AS((OneHotEncoder<double>{.max_categories = 1}.fit(f, x0)), argument_error);

  // Transform: one 0/1 column per level, missing its own column, unseen levels all zero.
  DataFrame<double> train;
  const std::vector<std::string> tv{"red", "blue", "?", "red"}, na{"?"};
  train.add_categorical("c", std::span<const std::string>(tv), std::span<const std::string>(na));
  train.add_column("n", std::vector<double>{1, 2, 3, 4});
  const auto oh = OneHotEncoder<double>{}.fit(train, std::vector<std::string>{"c"});
  CHECK(output_names(oh) == V{"c_blue", "c_red", "c_nan"});
  DataFrame<double> serve;
  const std::vector<std::string> sv{"green", "red", "?", "blue"};
  serve.add_categorical("c", std::span<const std::string>(sv), std::span<const std::string>(na));
  serve.add_column("n", std::vector<double>{5, 6, 7, 8});
  const auto t = oh.transform(serve);
  CHECK(t.names() == V{"n", "c_blue", "c_red", "c_nan"});
  const std::vector<std::vector<double>> want{{0, 0, 0, 1}, {0, 1, 0, 0}, {0, 0, 1, 0}};  // green: unseen -> all zero
  for (std::size_t k = 0; k < 3; ++k)
    CHECK(std::vector<double>(t.column(k + 1).begin(), t.column(k + 1).end()) == want[k]);
  const auto ord = OrdinalEncoder<double>{}.fit(train, std::vector<std::string>{"c"});
  const auto ot = ord.transform(serve);
  const auto o = ot.column("c");
  CHECK(o[0] == -1);  // unseen: unknown_value
  CHECK(o[1] == 1);   // red (blue = 0, red = 1: byte order)
  CHECK(std::isnan(o[2]));
  CHECK(o[3] == 0);
}

TEST_CASE("DateFeatures: calendar parts of a UTC instant, missing dates as NaN") {
  DataFrame<double> f;
  const auto t = detail::parse_iso8601("2026-12-04T10:30:00Z").micros;
  f.add_datetime("when", {t, missing_time, detail::parse_iso8601("1969-12-31T23:00:00Z").micros}, true);
  const auto d = DateFeatures<double>{}.fit(f, std::vector<std::string>{"when"});
  CHECK(d.outputs(0) == std::vector<std::string>{"when_year", "when_month", "when_day", "when_weekday", "when_yearday", "when_hour",
                                                 "when_timestamp"});
  const auto g = d.transform(f);
  CHECK(g.column("when_year")[0] == 2026);
  CHECK(g.column("when_month")[0] == 12);
  CHECK(g.column("when_day")[0] == 4);
  CHECK(g.column("when_weekday")[0] == 4);  // Friday
  CHECK(g.column("when_yearday")[0] == 338);
  CHECK(g.column("when_hour")[0] == 10);
  CHECK(std::abs(g.column("when_timestamp")[0] - (20791 + 10.5 / 24)) < 1e-9);
  CHECK(std::isnan(g.column("when_year")[1]));
  CHECK(g.column("when_year")[2] == 1969);  // before the epoch
  CHECK(g.column("when_hour")[2] == 23);
  DataFrame<double> dates_only;
  dates_only.add_datetime("day", {t}, false);
  CHECK(DateFeatures<double>{}.fit(dates_only, std::vector<std::string>{"day"}).outputs(0).size() == 6);  // no hour without times
  CHECK(DateFeatures<double>{.parts = {detail::date_part::month}}.fit(f, std::vector<std::string>{"when"}).outputs(0) ==
        std::vector<std::string>{"when_month"});
  CHECK_THROWS_AS(parse_date_part("week"), argument_error);
}

TEST_CASE("real-world tables (statsmodels' data files) train as they come and match scikit-learn's ColumnTransformer") {
  // scikit-learn 1.2.1: ColumnTransformer(SimpleImputer(mean) + StandardScaler on numbers,
  // OneHotEncoder(handle_unknown="ignore") on text) + LinearRegression / Ridge(cholesky),
  // every 4th row held out (tests/golden/tables/make_tables_golden.py).
  for (const auto& g : tables_golden::cases) {
    CAPTURE(g.name);
    const auto f = read_csv<double>(std::string(MLOPS_TEST_GOLDEN_DIR) + "/tables/" + g.file);  // inferred types, BOM, quotes
    std::vector<std::size_t> train_rows, test_rows;
    for (std::size_t r = 0; r < f.rows(); ++r) (r % 4 == 3 ? test_rows : train_rows).push_back(r);
    auto train = f.take(train_rows), test = f.take(test_rows);
    if (*g.id) train.set_id(g.id);
    auto p = pipeline<double>();
    if (!f.names_of(column_kind::categorical).empty()) p.add(OneHotEncoder<double>{});
    p.impute().standardize().estimator(LinearRegression<double>{true, g.alpha});
    const auto fp = p.fit(train, g.target);
    const auto m = fp.evaluate(test);
    CHECK(m.n == static_cast<std::size_t>(g.n_test));
    CHECK(std::abs(m.r2 - g.r2) < 1e-6 * std::max(1.0, std::abs(g.r2)));
    CHECK(std::abs(m.mse - g.mse) < 1e-6 * g.mse);
    CHECK(std::abs(m.mae - g.mae) < 1e-6 * g.mae);
  }
}

TEST_CASE("auto_pipeline: the statsmodels tables with no step chosen by hand reach scikit-learn's numbers") {
  // Identifier columns (statecrime's state, danish_data's period: one distinct text per
  // row) are left out without set_id; grunfeld's firm (11 levels) is one-hot encoded.
  for (const auto& g : tables_golden::cases) {
    CAPTURE(g.name);
    const auto f = read_csv<double>(std::string(MLOPS_TEST_GOLDEN_DIR) + "/tables/" + g.file);
    std::vector<std::size_t> train_rows, test_rows;
    for (std::size_t r = 0; r < f.rows(); ++r) (r % 4 == 3 ? test_rows : train_rows).push_back(r);
    const auto train = f.take(train_rows), test = f.take(test_rows);
    auto [p, choices] = auto_pipeline(train, g.target);
    if (*g.id) {
      REQUIRE(choices.size() == 1);
      CHECK(choices[0].column == g.id);
      CHECK(choices[0].action == "left out");
      CHECK(choices[0].reason.find("identifier") != std::string::npos);
    } else {
      REQUIRE(choices.size() == 1);
      CHECK(choices[0].column == "firm");
      CHECK(choices[0].action == "one-hot");
    }
    p.standardize().estimator(LinearRegression<double>{true, g.alpha});
    const auto fp = p.fit(train, g.target);
    const auto m = fp.evaluate(test);
    CHECK(m.n == static_cast<std::size_t>(g.n_test));
    CHECK(std::abs(m.r2 - g.r2) < 1e-6 * std::max(1.0, std::abs(g.r2)));
    CHECK(std::abs(m.mse - g.mse) < 1e-6 * g.mse);
  }
}

TEST_CASE("auto_pipeline: identifiers, empty columns, dates and gaps decided from the rows; choices noted in the file and card") {
  std::string csv = "name,origin,sold,hp,empty,y\n";
  const char* origins[] = {"usa", "europe", "japan"};
  for (int r = 0; r < 60; ++r) {
    const int o = r % 3;
    const bool no_origin = r % 11 == 5, no_date = r % 13 == 7, no_hp = r % 7 == 2;
    const double hp = 50 + 3 * r;
    csv += fmt::format("car {},{},{},{},,{}\n", r, no_origin ? "" : origins[o], no_date ? "" : fmt::format("20{:02}-0{}-1{}", 10 + r % 12, 1 + r % 9, r % 10),
                       no_hp ? std::string("NA") : fmt::format("{}", hp), 2 * hp + 10 * o + 0.25 * (r % 12));
  }
  const auto f = parse_csv<double>(csv);
  REQUIRE(f.kind("sold") == column_kind::datetime);
  REQUIRE(f.kind("empty") == column_kind::numeric);
  auto [p, choices] = auto_pipeline(f, "y");
  std::map<std::string, std::vector<std::string>> by_column;
  for (const auto& c : choices) by_column[c.column].push_back(c.action);
  CHECK(by_column["name"] == std::vector<std::string>{"left out"});   // 60 distinct texts in 60 values
  CHECK(by_column["empty"] == std::vector<std::string>{"left out"});  // no value at all
  CHECK(by_column["origin"] == std::vector<std::string>{"one-hot"});  // missing values get origin_nan, not the imputer
  CHECK(by_column["sold"] == std::vector<std::string>{"date parts", "imputed"});
  CHECK(by_column["hp"] == std::vector<std::string>{"imputed"});
  CHECK(p.feature_choice() == std::vector<std::string>{"origin", "sold", "hp"});
  p.standardize().estimator(LinearRegression<double>{});
  const auto fp = p.fit(f, "y");
  CHECK(fp.features() == std::vector<std::string>{"origin", "sold", "hp"});
  CHECK(std::find(fp.design_columns().begin(), fp.design_columns().end(), "origin_nan") != fp.design_columns().end());
  CHECK(fp.evaluate(f).r2 > 0.8);  // a seventh of hp imputed by its mean
  REQUIRE(fp.notes().count("auto.name") == 1);
  CHECK(fp.notes().at("auto.name").rfind("left out: looks like an identifier", 0) == 0);
  CHECK(fp.notes().at("auto.sold").find("; imputed: ") != std::string::npos);
  const auto back = FittedPipeline<double>::from_bytes(fp.to_bytes());
  CHECK(back.notes() == fp.notes());
  CHECK(io::model_card(back)["notes"]["auto.empty"].get<std::string>().rfind("left out: no value", 0) == 0);

  // Each choice can be fixed by hand.
  auto_options keep;
  keep.keep = {"name"};
  keep.max_categories = 5;
  const auto kept = auto_pipeline(f, "y", keep).pipeline.estimator(LinearRegression<double>{}).fit(f, "y");
  CHECK(kept.features() == std::vector<std::string>{"name", "origin", "sold", "hp"});
  CHECK(std::find(kept.design_columns().begin(), kept.design_columns().end(), "name_infrequent") != kept.design_columns().end());
  auto_options ordinal;
  ordinal.text = auto_options::text_inputs::ordinal;
  ordinal.dates = false;
  const auto op = auto_pipeline(f, "y", ordinal);
  CHECK(op.pipeline.feature_choice() == std::vector<std::string>{"origin", "hp"});
  CHECK(op.pipeline.notes().at("auto.origin").find("imputed") != std::string::npos);  // ordinal codes of missing values are NaN
  auto_options none;
  none.text = auto_options::text_inputs::leave_out;
  none.impute = false;
  const auto np = auto_pipeline(f, "y", none);
  CHECK(np.pipeline.feature_choice() == std::vector<std::string>{"sold", "hp"});
  CHECK(np.pipeline.steps().size() == 1);  // the date parts only
  CHECK_THROWS_AS(auto_pipeline(f, "y", auto_options{.keep = {"nope"}}), schema_error);

  // Nothing left: an error that names what was left out and why.
  const auto bare = f.select({"name", "empty", "y"});
  try {
    (void)auto_pipeline(bare, "y");
    FAIL("no feature left must be an error");
  } catch (const schema_error& e) {
    CHECK(std::string(e.what()).find("'name' looks like an identifier") != std::string::npos);
    CHECK(std::string(e.what()).find("'empty' no value") != std::string::npos);
  }
  // The explicit builder still does only what it is told.
  CHECK_THROWS_AS(pipeline<double>().estimator(LinearRegression<double>{}).fit(f.select({"origin", "y"}), "y"), schema_error);
}

TEST_CASE("read_csv never crashes on arbitrary bytes") {
  detail::xoshiro256ss rng(11);
  const char alphabet[] = {'1', '2', '.', ',', '"', '\n', '\r', 'e', '-', 'N', 'A', ' ', ';', '\0'};
  for (int trial = 0; trial < 3000; ++trial) {
    std::string s(rng.bounded(40), ' ');
    for (auto& c : s) c = alphabet[rng.bounded(sizeof alphabet)];
    try {
      const auto f = parse_csv<double>(s);
      for (std::size_t c = 0; c < f.cols(); ++c) {
        const std::size_t n = f.kind(c) == column_kind::numeric       ? f.column(c).size()
                              : f.kind(c) == column_kind::categorical ? f.categorical(c).size()
                                                                      : f.datetime(c).size();
        CHECK(n == f.rows());
      }
    } catch (const error&) {
    }
  }
}

TEST_CASE_TEMPLATE("write_csv round-trips every value exactly", T, float, double) {
  detail::xoshiro256ss rng(5);
  std::vector<T> a(500), b(500);
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<T>((rng.uniform01() - 0.5) * std::pow(10.0, static_cast<double>(rng.bounded(40)) - 20));
    b[i] = i % 7 == 0 ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(rng.uniform01());
  }
  a[0] = std::numeric_limits<T>::denorm_min();
  a[1] = std::numeric_limits<T>::max();
  a[2] = -std::numeric_limits<T>::infinity();
  DataFrame<T> f;
  f.add_column("a, \"tricky\"", std::span<const T>(a));
  f.add_column("b", std::span<const T>(b));
  const auto back = parse_csv<T>(to_csv(f));
  REQUIRE(back.names() == f.names());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(std::bit_cast<std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>(back.column(0)[i]) ==
          std::bit_cast<std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>(a[i]));
    CHECK(std::isnan(back.column(1)[i]) == std::isnan(b[i]));
    if (!std::isnan(b[i])) CHECK(back.column(1)[i] == b[i]);
  }
}

TEST_CASE("RNG and split are fixed: same seed, same split on every platform") {
  detail::xoshiro256ss rng(42);
  // Reference values of xoshiro256** seeded through splitmix64(42); they never change.
  const std::uint64_t first = rng();
  detail::xoshiro256ss again(42);
  CHECK(again() == first);
  // Independent reference: the published splitmix64 + xoshiro256** algorithms in Python.
  CHECK(first == 0x15780b2e0c2ec716ULL);
  CHECK(again() == 6990951692964543102ULL);
  const auto s1 = train_test_split_indices(100, 0.25, 7);
  const auto s2 = train_test_split_indices(100, 0.25, 7);
  const auto s3 = train_test_split_indices(100, 0.25, 8);
  CHECK(s1.test.size() == 25);
  CHECK(s1.train.size() == 75);
  CHECK(s1.test == s2.test);
  CHECK(s1.test != s3.test);
  std::vector<std::size_t> all = s1.train;
  all.insert(all.end(), s1.test.begin(), s1.test.end());
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i] == i);
  CHECK(train_test_split_indices(10, 0.31, 0).test.size() == 4);  // ceil, as scikit-learn
  CHECK_THROWS_AS(train_test_split_indices(10, 1.5, 0), argument_error);
  CHECK_THROWS_AS(train_test_split_indices(1, 0.5, 0), data_error);
  // bounded() is unbiased enough to hit every value
  std::vector<int> hits(6);
  for (int i = 0; i < 6000; ++i) ++hits[rng.bounded(6)];
  for (int h : hits) CHECK(h > 800);
}

TEST_CASE("shuffle is the plain Fisher-Yates permutation at every size (the prefetching path included)") {
  // detail::shuffle draws swap partners ahead on large ranges; the permutation and the
  // generator's state afterwards must be those of the textbook loop, for indices and for
  // the (row, target) pairs the SGD kernel shuffles.
  for (const std::size_t n : {0u, 1u, 2u, 1000u, 65536u, 65537u, 65600u, 65601u, 65602u, 100003u, 250000u}) {
    CAPTURE(n);
    std::vector<std::size_t> a(n), b(n);
    std::iota(a.begin(), a.end(), std::size_t{0});
    b = a;
    detail::xoshiro256ss r1(n + 3), r2(n + 3);
    detail::shuffle(a.begin(), a.end(), r1);
    for (std::uint64_t i = n; i > 1; --i) std::swap(b[i - 1], b[r2.bounded(i)]);
    CHECK(a == b);
    CHECK(r1() == r2());
  }
  std::vector<detail::sample_ref> pairs(70000);
  for (std::size_t k = 0; k < pairs.size(); ++k) pairs[k] = {k, 0.5 * static_cast<double>(k)};
  std::vector<std::size_t> idx(pairs.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  detail::xoshiro256ss r1(9), r2(9);
  detail::shuffle(pairs.data(), pairs.data() + pairs.size(), r1);
  detail::shuffle(idx.begin(), idx.end(), r2);
  bool same = true;
  for (std::size_t k = 0; k < idx.size(); ++k) same = same && pairs[k].row == idx[k] && pairs[k].y == 0.5 * static_cast<double>(idx[k]);
  CHECK(same);
}

TEST_CASE("shuffled_fill is the plain inside-out Fisher-Yates at every size (the prefetching path included)") {
  // The first SGD epoch's order is written already shuffled. Its result and the
  // generator's state afterwards must be those of the textbook loop.
  for (const std::size_t n : {0u, 1u, 2u, 1000u, 65536u, 65537u, 65600u, 65601u, 65631u, 65632u, 65633u, 100003u}) {
    CAPTURE(n);
    std::vector<std::size_t> a(n), b(n);
    detail::xoshiro256ss r1(n + 5), r2(n + 5);
    detail::shuffled_fill(a.data(), n, [](std::uint64_t k) { return static_cast<std::size_t>(3 * k + 1); }, r1);
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t j = r2.bounded(i + 1);
      if (j != i) b[i] = b[j];
      b[j] = static_cast<std::size_t>(3 * i + 1);
    }
    CHECK(a == b);
    CHECK(r1() == r2());
    auto sorted = a;  // a permutation of the generated values
    std::sort(sorted.begin(), sorted.end());
    bool perm = true;
    for (std::size_t k = 0; k < n; ++k) perm = perm && sorted[k] == 3 * k + 1;
    CHECK(perm);
  }
  // uniform: over 6000 fills of 3 values each of the 6 orders appears about 1000 times
  std::map<std::vector<int>, int> seen;
  detail::xoshiro256ss rng(11);
  for (int t = 0; t < 6000; ++t) {
    std::vector<int> v(3);
    detail::shuffled_fill(v.data(), 3, [](std::uint64_t k) { return static_cast<int>(k); }, rng);
    ++seen[v];
  }
  CHECK(seen.size() == 6);
  for (const auto& [order, count] : seen) CHECK(std::abs(count - 1000) < 150);  // ~5 sd
}

TEST_CASE("CRC-32C check value") {
  CHECK(detail::crc32c("123456789", 9) == 0xE3069283u);
}

TEST_CASE_TEMPLATE("StandardScaler matches scikit-learn; constant columns never give NaN", T, float, double) {
  auto f = golden_frame<T>(golden::X);
  const auto s = StandardScaler<T>{}.fit(f);
  for (int j = 0; j < golden::d; ++j) {
    CHECK(s.mean()[j] == doctest::Approx(golden::scaler_mean[j]).epsilon(test::tol<T> * 10));
    CHECK(s.scale()[j] == doctest::Approx(golden::scaler_scale[j]).epsilon(test::tol<T> * 10));
  }
  const auto z = s.transform(f);
  const auto zs = StandardScaler<T>{}.fit(z);
  for (int j = 0; j < golden::d; ++j) {
    CHECK(std::abs(zs.mean()[j]) < 1e-5);
    CHECK(zs.scale()[j] == doctest::Approx(1).epsilon(1e-5));
  }
  const auto back = s.inverse_transform(z);
  for (int i = 0; i < golden::n; ++i) CHECK(back.column(0)[i] == doctest::Approx(f.column(0)[i]).epsilon(1e-5));

  auto c = DataFrame<T>::from_columns({"const", "nan"}, {{3, 3, 3, 3}, {1, T(NAN), 3, 5}});
  const auto sc = StandardScaler<T>{}.fit(c);
  CHECK(sc.scale()[0] == T(1));
  CHECK(sc.constant_columns()[0] == 1);
  const auto zc = sc.transform(c);
  for (T v : zc.column("const")) CHECK(v == T(0));
  CHECK(std::isnan(zc.column("nan")[1]));  // missing stays missing
  CHECK(sc.mean()[1] == T(3));
  StandardScaler<T> pandas_style;
  pandas_style.ddof = 1;
  CHECK(pandas_style.fit(c).scale()[1] == doctest::Approx(2.0));
  auto allnan = DataFrame<T>::from_columns({"x"}, {{T(NAN), T(NAN)}});
  CHECK_THROWS_AS(StandardScaler<T>{}.fit(allnan), data_error);
}

TEST_CASE_TEMPLATE("SimpleImputer: mean, median, constant; fitted values only", T, float, double) {
  auto f = DataFrame<T>::from_columns({"a", "b"}, {{1, T(NAN), 3, 10}, {T(NAN), 2, 4, 6}});
  const auto mean = SimpleImputer<T>{impute_strategy::mean}.fit(f);
  CHECK(mean.fill_values()[0] == doctest::Approx(14.0 / 3));
  CHECK(mean.missing_seen()[0] == 1);
  const auto med = SimpleImputer<T>{impute_strategy::median}.fit(f);
  CHECK(med.fill_values()[0] == T(3));
  CHECK(med.fill_values()[1] == T(4));
  const auto out = med.transform(f);
  CHECK(out.column("a")[1] == T(3));
  CHECK(out.column("b")[0] == T(4));
  CHECK(out.missing_counts() == std::vector<std::size_t>{0, 0});
  const auto cst = SimpleImputer<T>{impute_strategy::constant, T(-1)}.fit(f);
  CHECK(cst.transform(f).column("b")[0] == T(-1));
  // New data is filled with the values learned from the training data.
  auto other = DataFrame<T>::from_columns({"a", "b"}, {{T(NAN)}, {100}});
  CHECK(med.transform(other).column("a")[0] == T(3));
  auto empty_col = DataFrame<T>::from_columns({"a"}, {{T(NAN)}});
  CHECK_THROWS_AS(SimpleImputer<T>{}.fit(empty_col), data_error);
  CHECK_THROWS_AS((SimpleImputer<T>{impute_strategy::constant, std::numeric_limits<T>::infinity()}.fit(f)), argument_error);
}

TEST_CASE("IqrOutlierFilter matches the pandas recipe; serving clips, flags or passes") {
  auto f = golden_frame<double>(golden::Xo);
  const auto fitted = IqrOutlierFilter<double>{}.fit(f);
  for (int j = 0; j < golden::d; ++j) {
    CHECK(fitted.fences()[j].q1 == doctest::Approx(golden::iqr_q1[j]).epsilon(1e-15));
    CHECK(fitted.fences()[j].q3 == doctest::Approx(golden::iqr_q3[j]).epsilon(1e-15));
  }
  auto g = f;
  IqrOutlierFilter<double>{}.fit_drop(g, g.names());
  CHECK(g.rows() == static_cast<std::size_t>(golden::iqr_kept));

  auto fit2 = IqrOutlierFilter<double>{}.fit(f);
  auto h = f;
  fit2.drop_training_rows(h);
  CHECK(fit2.rows_in() == 60);
  CHECK(fit2.rows_out() == static_cast<std::size_t>(golden::iqr_kept));
  CHECK(fit2.fences()[0].dropped >= 1);
  CHECK(fit2.fences()[2].dropped >= 1);

  // Serving: clip never drops rows; values land on the fences.
  auto clipped = fitted.transform(f);
  CHECK(clipped.rows() == 60);
  CHECK(clipped.column(0)[5] == fitted.fences()[0].upper);
  CHECK(clipped.column(2)[9] == fitted.fences()[2].lower);
  IqrOutlierFilter<double> flag;
  flag.on_new_data = outlier_action::flag;
  const auto flagged = flag.fit(f);
  const auto mask = flagged.outlier_mask(f);
  CHECK(mask[5] == 1);
  CHECK(mask[9] == 1);
  CHECK(flagged.transform(f).column(0)[5] == 50.0);  // flag does not change values
}

TEST_CASE("IqrOutlierFilter: a zero-IQR 0/1 column does not wipe out the minority rows") {
  std::vector<double> flag(100, 0.0), x(100);
  for (int i = 0; i < 100; ++i) x[static_cast<std::size_t>(i)] = i;
  for (int i = 0; i < 10; ++i) flag[static_cast<std::size_t>(i * 10)] = 1.0;  // 10% minority
  DataFrame<double> f;
  f.add_column("flag", std::span<const double>(flag));
  f.add_column("x", std::span<const double>(x));
  auto g = f;
  const auto fitted = IqrOutlierFilter<double>{}.fit_drop(g, g.names());
  CHECK(g.rows() == 100);  // skipped: nothing dropped
  CHECK(fitted.zero_iqr_columns() == std::vector<std::string>{"flag"});
  CHECK_FALSE(fitted.fences()[0].active);
  IqrOutlierFilter<double> classic;
  classic.zero_iqr = zero_iqr_policy::apply;
  auto h = f;
  classic.fit_drop(h, h.names());
  CHECK(h.rows() == 90);  // the classic recipe drops every minority row
  CHECK_THROWS_AS(IqrOutlierFilter<double>{-1.0}.fit(f), argument_error);
}

TEST_CASE("imputer: a fill value that is not finite is refused on load (issue 19)") {
  FittedSimpleImputer<double> bad(impute_strategy::constant, {"a"}, {std::numeric_limits<double>::infinity()}, {0});
  detail::byte_writer w;
  bad.save(w);
  detail::byte_reader r(w.buffer(), "steps section");
  CHECK_THROWS_WITH_AS((void)FittedSimpleImputer<double>::load(r), doctest::Contains("not finite"), format_error);
}

TEST_CASE("step statistics: blocks updated and merged in any split give the whole fit") {
  // A frame with missing values, two numeric columns and a categorical one whose blocks
  // see different levels.
  DataFrame<double> f;
  const std::size_t n = 3000;
  std::vector<double> a(n), b(n);
  std::vector<std::string> c(n);
  detail::xoshiro256ss rng(5);
  const char* levels[] = {"red", "green", "blue", "teal", "amber"};
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = rng.uniform01() < 0.1 ? std::numeric_limits<double>::quiet_NaN() : 1e6 + 10 * rng.uniform01();
    b[i] = -3 + 2 * rng.uniform01();
    c[i] = levels[i < 1000 ? rng.bounded(2) : rng.bounded(5)];  // the first block sees two levels
  }
  f.add_column("a", std::span<const double>(a));
  f.add_column("b", std::span<const double>(b));
  f.add_categorical("c", std::span<const std::string>(c));
  const std::vector<std::string> num{"a", "b"}, cat{"c"};
  auto blocks = [&](std::size_t lo, std::size_t hi) {
    std::vector<std::size_t> rows(hi - lo);
    std::iota(rows.begin(), rows.end(), lo);
    return f.take(rows);
  };
  // Three chunks in order, and the same rows as two per-rank stats merged out of order.
  const auto b1 = blocks(0, 1000), b2 = blocks(1000, 2200), b3 = blocks(2200, n);
  auto chunked = [&](const auto& step, std::span<const std::string> cols) {
    auto s = step.make_stats(cols);
    s.update(b1), s.update(b2), s.update(b3);
    auto r1 = step.make_stats(cols), r2 = step.make_stats(cols);
    r1.update(b3), r2.update(b1), r2.update(b2);
    r1.merge(r2);
    return std::pair(step.fit_from(s), step.fit_from(r1));
  };
  static_assert(mergeable_step<SimpleImputer<double>, double> && mergeable_step<StandardScaler<double>, double> &&
                mergeable_step<MinMaxScaler<double>, double> && mergeable_step<OneHotEncoder<double>, double> &&
                mergeable_step<OrdinalEncoder<double>, double>);
  for (const auto strategy : {impute_strategy::mean, impute_strategy::median, impute_strategy::constant}) {
    SimpleImputer<double> imp;
    imp.strategy = strategy;
    const auto whole = imp.fit(f, num);
    const auto [s, m] = chunked(imp, num);
    for (std::size_t j = 0; j < 2; ++j) {
      CHECK(s.missing_seen()[j] == whole.missing_seen()[j]);
      CHECK(m.missing_seen()[j] == whole.missing_seen()[j]);
      if (strategy == impute_strategy::median) {  // exact: the median of the same values
        CHECK(s.fill_values()[j] == whole.fill_values()[j]);
        CHECK(m.fill_values()[j] == whole.fill_values()[j]);
      } else {
        CHECK(s.fill_values()[j] == doctest::Approx(whole.fill_values()[j]).epsilon(1e-14));
        CHECK(m.fill_values()[j] == doctest::Approx(whole.fill_values()[j]).epsilon(1e-14));
      }
    }
  }
  {
    const auto whole = StandardScaler<double>{}.fit(f, num);
    const auto [s, m] = chunked(StandardScaler<double>{}, num);
    for (std::size_t j = 0; j < 2; ++j) {
      CHECK(s.mean()[j] == doctest::Approx(whole.mean()[j]).epsilon(1e-14));
      CHECK(m.mean()[j] == doctest::Approx(whole.mean()[j]).epsilon(1e-14));
      CHECK(s.scale()[j] == doctest::Approx(whole.scale()[j]).epsilon(1e-10));
      CHECK(m.scale()[j] == doctest::Approx(whole.scale()[j]).epsilon(1e-10));
    }
  }
  {
    const auto whole = MinMaxScaler<double>{}.fit(f, num);
    const auto [s, m] = chunked(MinMaxScaler<double>{}, num);
    CHECK(s.data_min() == whole.data_min());
    CHECK(s.data_max() == whole.data_max());
    CHECK(m.data_min() == whole.data_min());
    CHECK(m.data_max() == whole.data_max());
  }
  {
    OneHotEncoder<double> oh;
    oh.min_frequency = 0.1;  // shares of the merged rows: amber, teal, blue are rarer
    const auto whole = oh.fit(f, cat);
    const auto [s, m] = chunked(oh, cat);
    REQUIRE(whole.encoded_columns().size() == 1);
    for (const auto* e : {&s.encoded_columns()[0], &m.encoded_columns()[0]}) {
      CHECK(e->categories == whole.encoded_columns()[0].categories);
      CHECK(e->counts == whole.encoded_columns()[0].counts);
      CHECK(e->infrequent == whole.encoded_columns()[0].infrequent);
    }
    const auto [os, om] = chunked(OrdinalEncoder<double>{}, cat);
    const auto ow = OrdinalEncoder<double>{}.fit(f, cat);
    CHECK(os.categories() == ow.categories());
    CHECK(om.categories() == ow.categories());
    CHECK(ow.categories()[0].size() == 5);
  }
  // Statistics over other columns do not merge.
  auto x = StandardScaler<double>{}.make_stats(num);
  CHECK(test::error_id_of([&] { x.merge(StandardScaler<double>{}.make_stats(cat)); }) == "argument.invalid");
}
