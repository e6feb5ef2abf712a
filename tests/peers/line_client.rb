# A line-protocol client in the seeds' style (TCPSocket, puts, gets), for the command
# server: sends each argument as one line and prints the one-line answer to it; prints
# "[closed]" and stops when the server closes the connection.
#   ruby line_client.rb PORT 'AUTH alice secret' STATUS INFO
require 'socket'

$stdout.sync = true
port = Integer(ARGV.shift)

socket = TCPSocket.new('127.0.0.1', port)
ARGV.each do |request|
  socket.puts request
  abort "no answer to #{request.inspect} within 20 seconds" unless IO.select([socket], nil, nil, 20)
  answer = socket.gets
  if answer.nil?
    puts '[closed]'
    exit 0
  end
  puts answer
end
# Whatever the server says next (nothing for a healthy session) ends with its close.
socket.close_write
while IO.select([socket], nil, nil, 20) && (answer = socket.gets)
  puts answer
end
puts '[closed]'
socket.close
