// mlops/pipeline.hpp - the pipeline room: the builder Pipeline<T> and FittedPipeline<T>.
//
//   auto fitted = mlops::pipeline<double>()
//                     .impute(mlops::impute_strategy::median)
//                     .drop_outliers_iqr(1.5)
//                     .standardize()
//                     .fit(mlops::LinearRegression<double>{}, train, "price");
//   double y = fitted.predict_row(row);   // noexcept, no allocation
//   fitted.save("model.mlops");
//   auto again = mlops::FittedPipeline<double>::load("model.mlops");
//
// This header also brings the library's trainers (learn/linear.hpp, gd.hpp, online.hpp,
// classifier.hpp, tree/trainers.hpp); the pipeline's own headers name none of them.
// One idea per header: pipeline/rows.hpp (what a row prediction takes), estimators.hpp
// (the trainer concept, the model list and Estimator<T>), builder.hpp (Pipeline),
// fitted.hpp (FittedPipeline and its row path), fit.hpp (fitting), batch.hpp (batch
// prediction, evaluation, metrics store, drift profile), format.hpp (the file format)
// and steps_builder.hpp (the builder's step shorthands). The last three hold only bodies
// of members the compiled library instantiates, so a user of mlops::compiled parses none
// of them, nor any step type: a change to a step rebuilds the library and that step's
// own users only.
#pragma once

#include "mlops/config.hpp"
#include "mlops/learn/classifier.hpp"
#include "mlops/learn/gd.hpp"
#include "mlops/learn/linear.hpp"
#include "mlops/learn/online.hpp"
#include "mlops/learn/tree/trainers.hpp"
#include "mlops/pipeline/auto.hpp"
#include "mlops/pipeline/builder.hpp"
#include "mlops/pipeline/estimators.hpp"
#include "mlops/pipeline/fit.hpp"
#include "mlops/pipeline/fitted.hpp"
#include "mlops/pipeline/rows.hpp"

#if MLOPS_TEMPLATE_BODIES
#include "mlops/pipeline/batch.hpp"
#include "mlops/pipeline/format.hpp"
#include "mlops/pipeline/steps_builder.hpp"
#endif

MLOPS_NAMESPACE_BEGIN
// The compiled mode holds these (src/pipeline.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(class Pipeline)
MLOPS_EXTERN_TEMPLATE_FD(class FittedPipeline)
MLOPS_NAMESPACE_END

// Pipeline::fit's statistics engine (detail::fit_pipeline_from_statistics), defined where
// the definitions are: header-only, or the library's src/select.cpp.
#if MLOPS_DEFINITIONS
#include "mlops/pipeline/fold_stats.hpp"
#endif
