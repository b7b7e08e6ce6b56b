// Must NOT compile: an unfitted StandardScaler holds options only.
#include "mlops/prep/scale.hpp"

int main() {
  mlops::DataFrame<double> frame;
  mlops::StandardScaler<double> scaler;
  auto z = scaler.transform(frame);  // error: call .fit(frame) first
  (void)z;
}
