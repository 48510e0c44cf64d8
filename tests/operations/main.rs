//! The daemon as operators run it: the binary and its commands, the process lifecycle,
//! secrets, database outages, a small connection budget, several replicas on one database.

mod cli;
mod commands;
mod lifecycle;
mod outage;
mod pool_capacity;
mod replicas;
mod secrets;
mod startup;
