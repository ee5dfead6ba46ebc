// Command durablewrite is the consistency suite's workload under the
// durable semantics: ack-write, written through a durable task. Each
// activation starts a task (its intent is in the task store before the
// answer), answers, and the task writes after a pause:
//
//	{"id":"7","redis":"…","delay_ms":900} → {"acknowledged":"7","task":"…"},
//	then, once per task id: RPUSH epilogue:durable:7 "<activation>|<unix ms>"
//
// The pause is slept in steps, each checkpointed, so a continuation after
// the activation's deadline sleeps only what is left. The write is applied
// once per task id (SET epilogue:durable-once:TASK_ID NX in the same
// script): a second run of the task after a crash between its effect and
// its acknowledgement adds nothing, so the list has exactly one entry per
// acknowledged activation and a second entry would be a duplicate. The
// entry names the activation that ran the task to its end (another than
// the one that answered: a recovery or continuation) and when, by Redis'
// clock, the write landed: the suite's time to recovery.
//
// The task store is the action's bound EPILOGUE_TASKS_REDIS (and
// EPILOGUE_TASKS_LEASE), which reach the recoverer's invocations too.
//
// It is a fixture of the suite (package chaos), built at run time from this
// directory with actionbuild; it owns nothing the platform uses. Its key
// prefixes are repeated in chaos/workload.go, which checks what it wrote.
package main
