// Package replay owns trace-driven evaluation of the keep-alive policies:
// traces in the documented format of the Azure Functions 2019 public
// dataset (reading and writing them), a seeded synthetic generator writing
// that format, and a virtual-clock simulator that replays a trace against
// keepalive's policies and measures cold starts, wasted memory, prewarm
// accuracy and lingering. It does not own the policies (package keepalive)
// nor the live replay against the real pool (replay/live, which shares
// Buckets and AppColdStarts with the simulator so both measure alike).
//
// # The files it reads
//
// A dataset directory holds, per day NN (01…14), files named as the
// dataset's (https://github.com/Azure/AzurePublicDataset,
// AzureFunctionsDataset2019.md). Columns are found by their header name;
// other columns are ignored. The columns relied on:
//
//   - invocations_per_function_md.anon.dNN.csv (required, one per day):
//     HashOwner, HashApp, HashFunction, Trigger, then exactly 1, 2, …, 1440:
//     the function's invocations in each minute of the day (non-negative
//     integers). A function absent on a day has no calls that day.
//   - function_durations_percentiles.anon.dNN.csv (optional): HashOwner,
//     HashApp, HashFunction, Average (the mean execution time, ms). Two
//     columns the dataset does not have are read when present, written by
//     the synthetic generator: EpilogueLingerMs, the post-response work of
//     each call (ms; 0 when absent: the dataset predates Epilogue), and
//     EpilogueColdStartMs, what a cold start costs the function (ms;
//     DefaultColdStart when absent).
//   - app_memory_percentiles.anon.dNN.csv (optional; the dataset has 12
//     days): HashOwner, HashApp, AverageAllocatedMb: the memory of each
//     instance of the app's functions (DefaultMemoryMB when absent).
//
// Durations and memory come from the first day whose file has the function
// or app. Every malformed input is an error naming the file, line and
// column; files are limited to MaxFileBytes and counts to MaxCount.
//
// # The simulation
//
// Each minute's n calls are spread evenly over the minute. A call finds an
// idle specialised instance of its function (warm) or starts one (cold: the
// call waits the cold-start cost). It is busy for its duration and then its
// linger: under Epilogue an instance is busy until its work is done, and
// the policy hears Done then. The policy's decision keeps the instance,
// releases it, or releases it and prewarms one later. Memory is the sum of
// the instances' memory; with a budget, a cold start evicts idle instances
// (the policy's victim) until it fits, and a prewarm that does not fit is
// skipped. Everything runs on a virtual clock: days of trace in seconds.
package replay
