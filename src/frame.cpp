// The compiled mode's data room: DataFrame and the CSV reader and writer for float and
// double.
// Defines the room's non-template functions (MLOPS_FUNC, config.hpp) once.
#define MLOPS_DEFINE_FRAME
#include "mlops/csv.hpp"
#include "mlops/detail/atomic_file.hpp"
#include "mlops/detail/datetime.hpp"
#include "mlops/detail/durable_file.hpp"
#include "mlops/detail/json_limits.hpp"
#include "mlops/io/container.hpp"
#include "mlops/params.hpp"

MLOPS_NAMESPACE_BEGIN
template class DataFrame<float>;
template class DataFrame<double>;
template DataFrame<float> parse_csv<float>(std::string_view, const CsvOptions&);
template DataFrame<double> parse_csv<double>(std::string_view, const CsvOptions&);
template void write_csv<float>(const DataFrame<float>&, std::ostream&, char);
template void write_csv<double>(const DataFrame<double>&, std::ostream&, char);
MLOPS_NAMESPACE_END
