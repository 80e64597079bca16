"""boto3 against a Conveyor frontend: create a queue, send a message with attributes, receive it,
check its body and the MD5s (computed here, independently of the server's code), delete it, read
the queue's attributes, provoke one error, delete the queue. Prints one JSON summary line on
stdout for the calling test to assert on; anything unexpected is a traceback and exit status 1.

    python3 boto3-smoke.py ENDPOINT QUEUE_NAME

Credentials and region come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_DEFAULT_REGION); the endpoint checks the signature.
"""
import hashlib
import json
import struct
import sys

try:
    import boto3
    import botocore
    from botocore.exceptions import ClientError
except ImportError as error:  # the test turns this into a failure that says what to install
    sys.stderr.write(f"boto3 is not installed ({error}): pip install boto3\n")
    sys.exit(3)


def md5_of_attributes(attributes):
    """SQS's MD5 of message attributes: names sorted; each length-prefixed name, data type,
    transport byte (1 string/number, 2 binary) and length-prefixed value."""
    buf = bytearray()
    for name in sorted(attributes):
        attr = attributes[name]
        data_type = attr["DataType"]
        for part in (name.encode("utf-8"), data_type.encode("utf-8")):
            buf += struct.pack(">I", len(part)) + part
        if "BinaryValue" in attr:
            value = attr["BinaryValue"]
            buf += b"\x02"
        else:
            value = attr["StringValue"].encode("utf-8")
            buf += b"\x01"
        buf += struct.pack(">I", len(value)) + value
    return hashlib.md5(bytes(buf)).hexdigest()


def error_of(call):
    try:
        call()
    except ClientError as error:
        return {
            "code": error.response["Error"].get("Code"),
            "status": error.response["ResponseMetadata"].get("HTTPStatusCode"),
            "message": error.response["Error"].get("Message"),
        }
    return None


def main(endpoint, queue_name):
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "17"})["QueueUrl"]

    body = '{"message_index":1}'
    attributes = {
        "test-key": {"DataType": "String", "StringValue": "test-value"},
        "count": {"DataType": "Number", "StringValue": "42"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff"},
    }
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=attributes)

    received = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=2,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", [])
    message = received[0] if received else {}
    got_attributes = message.get("MessageAttributes", {})

    # Only test-key, asked for by name: its MD5 must cover just that one (the §1.4 vector).
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(
        QueueUrl=queue_url, WaitTimeSeconds=2, MessageAttributeNames=["test-key"], MessageSystemAttributeNames=["ApproximateReceiveCount"]
    ).get("Messages", [])
    one = again[0] if again else {}

    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=one.get("ReceiptHandle", message["ReceiptHandle"]))
    queue_attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    after_delete = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])

    batch_bodies = {"b1": "batch one", "b2": "batch two ✓"}
    batch_attributes = {"kind": {"DataType": "String", "StringValue": "batch"}}
    batch_sent = sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": "b1", "MessageBody": batch_bodies["b1"]},
            {"Id": "b2", "MessageBody": batch_bodies["b2"], "MessageAttributes": batch_attributes},
        ],
    )
    batch_received = []
    for _ in range(5):  # short of 2 after a few long polls means something is wrong
        batch_received += sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]).get("Messages", [])
        if len(batch_received) >= 2:
            break
    batch_deleted = sqs.delete_message_batch(
        QueueUrl=queue_url, Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch_received)]
    )

    missing_queue = error_of(lambda: sqs.get_queue_url(QueueName=queue_name + "-missing"))
    bad_handle = error_of(lambda: sqs.delete_message(QueueUrl=queue_url, ReceiptHandle="garbage"))
    sqs.delete_queue(QueueUrl=queue_url)

    summary = {
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "queueUrl": queue_url,
        "send": {
            "messageId": sent.get("MessageId"),
            "md5OfBody": sent.get("MD5OfMessageBody"),
            "md5OfAttributes": sent.get("MD5OfMessageAttributes"),
        },
        "expected": {
            "md5OfBody": hashlib.md5(body.encode("utf-8")).hexdigest(),
            "md5OfAttributes": md5_of_attributes(attributes),
            "md5OfTestKeyOnly": md5_of_attributes({"test-key": attributes["test-key"]}),
        },
        "receive": {
            "count": len(received),
            "messageId": message.get("MessageId"),
            "bodyMatches": message.get("Body") == body,
            "md5OfBody": message.get("MD5OfBody"),
            "md5OfBodyComputed": hashlib.md5(message.get("Body", "").encode("utf-8")).hexdigest(),
            "md5OfAttributes": message.get("MD5OfMessageAttributes"),
            "attributeNames": sorted(got_attributes),
            "attributesMatch": got_attributes == attributes,
            "systemAttributeNames": sorted(message.get("Attributes", {})),
        },
        "receiveOneAttribute": {
            "count": len(again),
            "attributeNames": sorted(one.get("MessageAttributes", {})),
            "md5OfAttributes": one.get("MD5OfMessageAttributes"),
            "receiveCount": one.get("Attributes", {}).get("ApproximateReceiveCount"),
        },
        "afterDelete": {"received": len(after_delete)},
        "batch": {
            "successfulIds": sorted(e["Id"] for e in batch_sent.get("Successful", [])),
            "failed": batch_sent.get("Failed", []),
            "md5sMatch": all(
                e["MD5OfMessageBody"] == hashlib.md5(batch_bodies[e["Id"]].encode("utf-8")).hexdigest()
                and e.get("MD5OfMessageAttributes") == (md5_of_attributes(batch_attributes) if e["Id"] == "b2" else None)
                for e in batch_sent.get("Successful", [])
            ),
            "receivedBodies": sorted(m["Body"] for m in batch_received),
            "receivedMd5sMatch": all(
                m["MD5OfBody"] == hashlib.md5(m["Body"].encode("utf-8")).hexdigest()
                and m.get("MD5OfMessageAttributes") == (md5_of_attributes(m["MessageAttributes"]) if "MessageAttributes" in m else None)
                for m in batch_received
            ),
            "deletedIds": sorted(e["Id"] for e in batch_deleted.get("Successful", [])),
            "deleteFailed": batch_deleted.get("Failed", []),
        },
        "queueAttributes": queue_attributes,
        "errors": {"missingQueue": missing_queue, "badHandle": bad_handle},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.stderr.write("usage: boto3-smoke.py ENDPOINT QUEUE_NAME\n")
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
