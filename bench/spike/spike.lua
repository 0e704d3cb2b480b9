-- spike.lua - wrk script for the transport spike: POSTs one DynamoDB-shaped request (the
-- headers the AWS CLI v2 sends, a SigV4 Authorization of the real length, a ~300-byte
-- JSON body) and counts every answer that is not 200. done() prints one line
-- "SPIKEJSON {...}" that run.py reads (latencies in microseconds).

wrk.method = "POST"
wrk.path = "/"
wrk.body = '{"TableName":"Orders","KeyConditionExpression":"#pk = :pk AND begins_with(#sk, :sk)",' ..
   '"ExpressionAttributeNames":{"#pk":"pk","#sk":"sk"},"ExpressionAttributeValues":' ..
   '{":pk":{"S":"customer#1"},":sk":{"S":"order#"}},"ProjectionExpression":"pk, sk, #st, total",' ..
   '"Limit":25,"ReturnConsumedCapacity":"TOTAL","ScanIndexForward":true}'
wrk.headers = {
   ["Content-Type"] = "application/x-amz-json-1.0",
   ["X-Amz-Target"] = "DynamoDB_20120810.Query",
   ["User-Agent"] = "aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0 source/x86_64.debian.12 prompt/off command/dynamodb.query",
   ["Accept-Encoding"] = "identity",
   ["X-Amz-Date"] = "20260101T020000Z",
   ["Authorization"] = "AWS4-HMAC-SHA256 Credential=BGAKIAEXAMPLE0000001/20260101/us-east-1/dynamodb/aws4_request, " ..
      "SignedHeaders=content-type;host;x-amz-date;x-amz-target, " ..
      "Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
}

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   non200 = 0
end

function response(status, headers, body)
   if status ~= 200 then
      non200 = non200 + 1
   end
end

function done(summary, latency, requests)
   local bad = 0
   for _, t in ipairs(threads) do
      bad = bad + (t:get("non200") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'SPIKEJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"non200":%d,"socket_errors":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), bad,
      e.connect + e.read + e.write + e.timeout + e.status,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      latency.mean))
end
