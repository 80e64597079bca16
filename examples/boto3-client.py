# boto3 against Conveyor: only the endpoint changes. Run: python3 examples/boto3-client.py
# (after `eval "$(npx conveyor env)"`, which exports the endpoint and the key npm start made).
import os

import boto3

sqs = boto3.client("sqs", endpoint_url=os.environ.get("CONVEYOR_ENDPOINT", "http://127.0.0.1:9324"))
queue_url = sqs.create_queue(QueueName="boto3-example")["QueueUrl"]
sqs.send_message(QueueUrl=queue_url, MessageBody="hello from boto3")
messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5).get("Messages", [])
for message in messages:
    print("received:", message["Body"])
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
if not messages:
    raise SystemExit("nothing received")
