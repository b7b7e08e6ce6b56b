// The compiled mode's data room: DataFrame and the CSV reader and writer for float and
// double.
#include "mlops/csv.hpp"

MLOPS_NAMESPACE_BEGIN
template class DataFrame<float>;
template class DataFrame<double>;
template DataFrame<float> parse_csv<float>(std::string_view, const CsvOptions&);
template DataFrame<double> parse_csv<double>(std::string_view, const CsvOptions&);
template void write_csv<float>(const DataFrame<float>&, std::ostream&, char);
template void write_csv<double>(const DataFrame<double>&, std::ostream&, char);
MLOPS_NAMESPACE_END
