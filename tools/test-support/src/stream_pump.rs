//! What Lambda's DynamoDB event source mapping does, for DynamoDB Local's own stream: read the table's stream
//! (DescribeStream, GetShardIterator TRIM_HORIZON, GetRecords), keep the records the mapping's filters pass
//! (an INSERT, or a verification or block record's MODIFY, with `writtenRegion` = the region), hand them over in batches
//! as the Lambda DynamoDB event, and on a partial batch response re-deliver from the lowest failed sequence number on, as Lambda does for a stream.
//! A batch that still fails after `max_attempts` is set aside (the mapping's on-failure destination).

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;

use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{json, Value};

/// What a pump run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PumpReport {
    /// Records read from the stream (all of them, filtered or not).
    pub read: usize,
    /// Records the filter dropped (not an INSERT, or another region's).
    pub filtered_out: usize,
    /// Invocations of the function.
    pub invocations: usize,
    /// Records handed over, re-deliveries included.
    pub delivered: usize,
    /// Sequence numbers of the records set aside after `max_attempts`.
    pub set_aside: Vec<String>,
}

pub struct StreamPump {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    region: String,
    /// Open shards and where their next read starts.
    iterators: BTreeMap<String, Option<String>>,
    pending: VecDeque<Value>,
    pub batch_size: usize,
    pub max_attempts: usize,
}

impl StreamPump {
    /// The stream of `table` on the DynamoDB Local at `endpoint`, read from its start, for a function in `region`.
    pub async fn open(endpoint: &str, table: &str, region: &str) -> Self {
        let config = crate::dynamodb_local::local_config(endpoint).load().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let described = dynamodb.describe_table().table_name(table).send().await.expect("describe table");
        let stream_arn =
            described.table().and_then(|t| t.latest_stream_arn()).expect("the table has a stream").to_owned();
        let client = aws_sdk_dynamodbstreams::Client::new(&config);
        Self {
            client,
            stream_arn,
            region: region.to_owned(),
            iterators: BTreeMap::new(),
            pending: VecDeque::new(),
            batch_size: 100,
            max_attempts: 5,
        }
    }

    /// Reads every record written since the last read and delivers the ones the filter passes.
    pub async fn pump<F, Fut>(&mut self, mut deliver: F) -> PumpReport
    where
        F: FnMut(Value) -> Fut,
        Fut: Future<Output = Value>,
    {
        let mut report = PumpReport::default();
        for record in self.read_new().await {
            report.read += 1;
            match self.lambda_record(&record) {
                Some(event_record) => self.pending.push_back(event_record),
                None => report.filtered_out += 1,
            }
        }
        while !self.pending.is_empty() {
            let size = self.pending.len().min(self.batch_size);
            let mut batch: Vec<Value> = self.pending.drain(..size).collect();
            let mut attempts = 0;
            loop {
                attempts += 1;
                report.invocations += 1;
                report.delivered += batch.len();
                let answer = deliver(json!({"Records": batch})).await;
                let failed: Vec<&str> = answer["batchItemFailures"]
                    .as_array()
                    .map(|failures| failures.iter().filter_map(|f| f["itemIdentifier"].as_str()).collect())
                    .unwrap_or_default();
                let Some(lowest) = failed.iter().min_by_key(|s| sequence_order(s)).map(|s| s.to_string()) else {
                    break;
                };
                if attempts >= self.max_attempts {
                    report.set_aside.extend(
                        batch.iter().map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap_or("").to_owned()),
                    );
                    break;
                }
                // Lambda re-delivers the failed record and everything after it.
                let from = batch.iter().position(|r| r["dynamodb"]["SequenceNumber"].as_str() == Some(lowest.as_str()));
                batch = batch.split_off(from.unwrap_or(0));
            }
        }
        report
    }

    async fn read_new(&mut self) -> Vec<Record> {
        let described =
            self.client.describe_stream().stream_arn(&self.stream_arn).send().await.expect("describe stream");
        for shard in described.stream_description().map(|d| d.shards()).unwrap_or_default() {
            let Some(shard_id) = shard.shard_id() else { continue };
            if !self.iterators.contains_key(shard_id) {
                let iterator = self
                    .client
                    .get_shard_iterator()
                    .stream_arn(&self.stream_arn)
                    .shard_id(shard_id)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await
                    .expect("shard iterator")
                    .shard_iterator;
                self.iterators.insert(shard_id.to_owned(), iterator);
            }
        }
        let mut records = Vec::new();
        for iterator in self.iterators.values_mut() {
            // Read until the shard has nothing more for now (an empty page), or it is closed.
            while let Some(current) = iterator.clone() {
                let page = self.client.get_records().shard_iterator(current).send().await.expect("get records");
                *iterator = page.next_shard_iterator;
                let got = page.records.unwrap_or_default();
                if got.is_empty() {
                    break;
                }
                records.extend(got);
            }
        }
        records.sort_by_key(|r| r.dynamodb().and_then(|d| d.sequence_number()).map(sequence_order).unwrap_or_default());
        records
    }

    /// The Lambda DynamoDB event record, when the mapping's filter passes it.
    fn lambda_record(&self, record: &Record) -> Option<Value> {
        let change = record.dynamodb()?;
        let new_image: serde_dynamo::Item = change.new_image().cloned().unwrap_or_default().into();
        let new_image = serde_json::to_value(new_image).expect("image as JSON");
        let old_image: serde_dynamo::Item = change.old_image().cloned().unwrap_or_default().into();
        let event_name = record.event_name().map(|n| n.as_str().to_owned()).unwrap_or_default();
        // The template's two filters: any INSERT, and the MODIFY of a verification or a block record; both of this
        // region's writes.
        let in_place = matches!(new_image["kind"]["S"].as_str(), Some("verification" | "block"));
        let passes = event_name == "INSERT" || (event_name == "MODIFY" && in_place);
        if !passes || new_image["writtenRegion"]["S"].as_str() != Some(self.region.as_str()) {
            return None;
        }
        let keys: serde_dynamo::Item = change.keys().cloned().unwrap_or_default().into();
        Some(json!({
            "eventID": record.event_id(),
            "eventName": event_name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": self.region,
            "eventSourceARN": self.stream_arn,
            "dynamodb": {
                "ApproximateCreationDateTime": change.approximate_creation_date_time().map(|t| t.secs()).unwrap_or_default(),
                "Keys": serde_json::to_value(keys).expect("keys as JSON"),
                "NewImage": new_image,
                "OldImage": serde_json::to_value(old_image).expect("image as JSON"),
                "SequenceNumber": change.sequence_number(),
                "SizeBytes": change.size_bytes().unwrap_or_default(),
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
        }))
    }
}

/// Sequence numbers are decimal strings of growing length: compare them as numbers.
fn sequence_order(sequence_number: &str) -> (usize, String) {
    (sequence_number.len(), sequence_number.to_owned())
}
