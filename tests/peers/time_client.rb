# The UDP time client of the seeds' TimeServer ("Socket Programming Concepts"): one
# datagram per request, the reply read with recvfrom and printed, one per line. For ISO8601
# replies it also prints what Ruby's own Time.iso8601 parses them to (Unix seconds).
#   ruby time_client.rb PORT TIME TIMESTAMP ISO8601
require 'socket'
require 'time'

$stdout.sync = true
port = Integer(ARGV.shift)

client = UDPSocket.new
ARGV.each do |request|
  client.send(request, 0, '127.0.0.1', port)
  abort "no reply to #{request.inspect} within 20 seconds" unless IO.select([client], nil, nil, 20)
  response, _sender = client.recvfrom(1024)
  puts response
  puts "parsed: #{Time.iso8601(response).to_i}" if request.strip == 'ISO8601'
end
client.close
