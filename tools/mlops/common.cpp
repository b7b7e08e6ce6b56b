// tools/mlops/common.cpp - the data flags and table reading every command shares.
#include <csignal>
#include <cstdio>
#include <iostream>

#include <sys/wait.h>

#include "cli.hpp"
#include "mlops/select/report.hpp"

namespace mlops_cli {

void add_data_flags(CLI::App* cmd, data_args& d) {
  cmd->add_option("--delimiter", d.delimiter, "field delimiter: one character, or 'tab' (default: sniffed among , ; tab | space)");
  cmd->add_option("--categorical", d.categorical, "read this column as categorical text (repeatable)");
  cmd->add_option("--datetime", d.datetime, "read this column as ISO 8601 dates/datetimes (repeatable)");
  cmd->add_option("--na", d.na, "also treat this text as missing (repeatable; default: empty, NA, N/A, NaN, nan, null, NULL)");
  cmd->add_flag("--no-header", d.no_header, "the file has no header row (columns are column_0, column_1, ...)");
  cmd->add_option("--skip-rows", d.skip_rows, "skip this many lines at the start of the file, before the header (e.g. a count line)");
  cmd->add_option("--comment", d.comment, "skip lines that start with this character (e.g. '#')");
  cmd->add_option("--quote", d.quote, "the quote character (default '\"'; e.g. \"'\" for single-quoted names)");
  cmd->add_option("--read-threads", d.read_threads,
                  "threads that parse a file of 1 MiB or more without quotes (default 0: one per core; the table is the same)");
}

/// Reads a table; `typed` columns (a model's inputs) are read as the kind the model
/// knows them as, so a bad value there is reported at its line and field.
mlops::DataFrame<double> read_table(const std::string& path, const data_args& d, const std::map<std::string, mlops::csv_type>& typed) {
  mlops::CsvOptions o;
  for (const auto& [c, t] : typed) o.column_types[c] = t;
  if (d.delimiter == "tab" || d.delimiter == "\\t") o.delimiter = '\t';
  else if (d.delimiter.size() == 1) o.delimiter = d.delimiter[0];
  else if (!d.delimiter.empty())
    throw mlops::argument_error(mlops::errc::invalid_argument,
                                fmt::format("--delimiter '{}': give one character (e.g. ';' or '|') or 'tab'", d.delimiter));
  for (const auto& c : d.categorical) o.column_types[c] = mlops::csv_type::categorical;
  for (const auto& c : d.datetime) o.column_types[c] = mlops::csv_type::datetime;
  for (const auto& v : d.na) o.na_values.push_back(v);
  o.header = !d.no_header;
  o.threads = d.read_threads;
  o.skip_rows = d.skip_rows;
  const auto one_char = [](const std::string& v, std::string_view flag) {
    if (v.size() != 1) throw mlops::argument_error(mlops::errc::invalid_argument, fmt::format("{} '{}': give one character", flag, v));
    return v[0];
  };
  if (!d.comment.empty()) o.comment = one_char(d.comment, "--comment");
  if (!d.quote.empty()) o.quote = one_char(d.quote, "--quote");
  if (path == "-") {  // standard input
    o.source = "<stdin>";
    return mlops::read_csv<double>(std::cin, o);
  }
  return mlops::read_csv<double>(path, o);
}

void save_model(const mlops::FittedPipeline<double>& p, const std::string& out) {
  if (out != "-") {
    p.save(out);
    return;
  }
  const std::string bytes = p.to_bytes();
  std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::cout.flush();  // main's finish() reports a failed write
}

std::FILE* report_stream(const std::string& out) { return out == "-" ? stderr : stdout; }

/// The metrics that fit the task of a fitted pipeline, as JSON and as one text line.
json evaluate_json(const mlops::FittedPipeline<double>& p, const mlops::DataFrame<double>& f) {
  return p.is_classifier() ? json(p.evaluate_classifier(f)) : json(p.evaluate(f));
}
std::string evaluate_text(const mlops::FittedPipeline<double>& p, const mlops::DataFrame<double>& f) {
  return p.is_classifier() ? fmt::format("{}", p.evaluate_classifier(f)) : fmt::format("{}", p.evaluate(f));
}

/// The kind a model reads each of its inputs (and, when given, its target) as.
std::map<std::string, mlops::csv_type> model_columns(const mlops::FittedPipeline<double>& p, const std::string& target) {
  std::map<std::string, mlops::csv_type> out;
  for (std::size_t j = 0; j < p.features().size(); ++j)
    out[p.features()[j]] = p.input_kind(j) == mlops::column_kind::categorical ? mlops::csv_type::categorical
                           : p.input_kind(j) == mlops::column_kind::datetime  ? mlops::csv_type::datetime
                                                                              : mlops::csv_type::numeric;
  if (!target.empty()) out[target] = p.class_labels().empty() ? mlops::csv_type::numeric : mlops::csv_type::categorical;
  return out;
}


int run_hook(const std::string& cmd, const std::string& payload) {
  // A command that does not read its stdin must not kill us with SIGPIPE.
  const auto old = std::signal(SIGPIPE, SIG_IGN);
  FILE* p = ::popen(cmd.c_str(), "w");
  int rc = -1;
  if (p) {
    std::fwrite(payload.data(), 1, payload.size(), p);
    std::fputc('\n', p);
    rc = ::pclose(p);
    if (rc != -1 && WIFEXITED(rc)) rc = WEXITSTATUS(rc);
    else if (rc != -1) rc = 128 + WTERMSIG(rc);
  }
  std::signal(SIGPIPE, old);
  return rc;
}

mlops::ModelRegistry open_registry(const std::string& dir) {
  mlops::ModelRegistry reg(dir);
  reg.on_warning([](std::string_view w) { std::fprintf(stderr, "mlops: warning: %.*s\n", static_cast<int>(w.size()), w.data()); });
  return reg;
}

}  // namespace mlops_cli
