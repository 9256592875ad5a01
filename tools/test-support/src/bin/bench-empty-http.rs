//! `make bench`: the ceiling of `cargo lambda watch` — a `lambda_http` function that answers 200 with nothing.

use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: Request| async { Ok::<_, Error>("") })).await
}
