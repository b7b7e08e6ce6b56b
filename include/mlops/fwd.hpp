// mlops/fwd.hpp - forward declarations of every public type (and the opaque form of every
// public enum); cheap to include: the standard <cstdint> and <type_traits> only.
// tests/test_headers.cpp includes it before the umbrella, so a declaration here that
// disagrees with its definition fails to compile.
#pragma once

#include <cstdint>
#include <type_traits>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN
/// The scalar types the library computes in.
template <class T>
concept scalar = std::is_same_v<T, float> || std::is_same_v<T, double>;

// csv.hpp
struct CsvOptions;
enum class csv_type : std::uint8_t;
enum class number_parse : std::uint8_t;
// error.hpp
class error;
class argument_error;
class io_error;
class parse_error;
class schema_error;
class data_error;
class training_error;
class format_error;
class registry_error;
class signature_error;
enum class errc : std::uint16_t;
// frame.hpp
struct CategoricalView;
struct DatetimeView;
template <scalar T>
class DataFrame;
template <scalar T>
struct Description;
enum class column_kind : std::uint8_t;
// pipeline.hpp (pipeline/builder.hpp, pipeline/fitted.hpp, pipeline/rows.hpp)
struct FitReport;
struct input_value;
template <scalar T>
class Pipeline;
template <scalar T>
class FittedPipeline;
enum class predict_status : std::uint8_t;
// pipeline/auto.hpp
struct auto_options;
struct auto_choice;
template <scalar T>
struct auto_plan;
// registry.hpp
struct ModelMetadata;
struct ModelVersion;
struct VersionFiles;
struct AliasEvent;
struct VersionComparison;
class ModelRegistry;
// eval/classification.hpp
struct PrecisionRecallF1;
struct ClassificationMetrics;
class ClassificationAccumulator;
enum class averaging : std::uint8_t;
// eval/metrics.hpp
struct RegressionMetrics;
class RegressionAccumulator;
enum class task_kind : std::uint8_t;
// select/model_selection.hpp
struct CvFold;
struct CvResult;
struct GridCandidate;
template <scalar T>
struct GridSearchResult;
// eval/split.hpp
struct SplitIndices;
struct KFold;
struct StratifiedKFold;
// io/card.hpp
struct ModelCard;
// learn/classifier.hpp
template <scalar T>
class LinearClassifier;
template <scalar T>
struct LogisticRegression;
template <scalar T>
struct LinearSVM;
enum class classifier_loss : std::uint8_t;
enum class classifier_solver : std::uint8_t;
// learn/gd_options.hpp, learn/gd.hpp
template <class Model>
struct FitResult;
template <scalar T>
struct GradientDescentRegressor;
enum class fit_status : std::uint8_t;
// learn/linear.hpp
template <scalar T>
class LinearModel;
template <scalar T>
class LeastSquaresStats;
template <scalar T>
struct LinearRegression;
enum class linear_solver : std::uint8_t;
// learn/tree/model.hpp, learn/tree/trainers.hpp
template <scalar T>
class RegressionTree;
template <scalar T>
class ClassificationTree;
template <scalar T>
struct DecisionTreeRegressor;
template <scalar T>
struct DecisionTreeClassifier;
enum class tree_criterion : std::uint8_t;
// learn/online.hpp
struct RlsOptions;
template <scalar T>
class RecursiveLeastSquares;
template <scalar T>
struct RecursiveLeastSquaresTrainer;
// monitor/detectors.hpp
struct PageHinkley;
class Adwin;
struct Ddm;
// monitor/drift.hpp
struct DriftThreshold;
struct DriftThresholds;
struct DriftConfig;
struct DriftAlert;
struct ColumnDrift;
struct DriftReport;
template <scalar T>
class DriftMonitor;
enum class alert_level : std::uint8_t;
enum class drift_statistic : std::uint8_t;
enum class drift_scope : std::uint8_t;
// monitor/profile.hpp
struct FeatureProfile;
struct BaselineError;
struct DriftProfile;
// prep/dates.hpp
template <scalar T>
struct DateFeatures;
template <scalar T>
class FittedDateFeatures;
// prep/impute.hpp
template <scalar T>
struct SimpleImputer;
template <scalar T>
class FittedSimpleImputer;
enum class impute_strategy : std::uint8_t;  // prep/options.hpp
// prep/minmax.hpp
template <scalar T>
struct MinMaxScaler;
template <scalar T>
class FittedMinMaxScaler;
// prep/onehot.hpp
template <scalar T>
struct OneHotEncoder;
template <scalar T>
class FittedOneHotEncoder;
// prep/ordinal.hpp
template <scalar T>
struct OrdinalEncoder;
template <scalar T>
class FittedOrdinalEncoder;
// prep/outliers.hpp
template <scalar T>
struct IqrOutlierFilter;
template <scalar T>
class FittedIqrOutlierFilter;
enum class outlier_action : std::uint8_t;  // prep/options.hpp
enum class zero_iqr_policy : std::uint8_t;
// prep/step.hpp
template <scalar T>
class Step;
template <scalar T>
class FittedStep;
// prep/scale.hpp
template <scalar T>
struct StandardScaler;
template <scalar T>
class FittedStandardScaler;
// serve/challenger.hpp
struct SequentialTestConfig;
class PairedSequentialTest;
struct FeedbackRecord;
class FeedbackStore;
enum class ab_recommendation : std::int8_t;
// serve/metrics.hpp
struct ServingCounters;
struct ServingSnapshot;
struct AliasState;
struct VersionQuality;
class ServingMetrics;
enum class endpoint : std::uint8_t;
enum class serve_error : std::uint8_t;
// serve/served_model.hpp
struct ServeEvent;
template <scalar T>
class ServedModel;
// serve/service.hpp
struct ServiceConfig;
struct AliasStatus;
template <scalar T>
class ModelService;
MLOPS_NAMESPACE_END
