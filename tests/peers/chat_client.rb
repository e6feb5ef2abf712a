# A client for the seeds' ChatServer ("Socket Programming Concepts"): the first line it
# sends is the nickname; then every line typed on stdin goes to the room, and every line
# the room sends is printed. On stdin EOF it half-closes (the server then says it left)
# and prints "[closed]" once the server has closed too.
#   ruby chat_client.rb PORT NICKNAME
require 'socket'

$stdout.sync = true
port = Integer(ARGV.fetch(0))
nickname = ARGV.fetch(1)

socket = TCPSocket.new('127.0.0.1', port)
socket.puts nickname

reader = Thread.new do
  while (line = socket.gets)
    puts line
  end
  puts '[closed]'
end

while (line = $stdin.gets)
  socket.puts line.chomp
end
socket.close_write
reader.join
socket.close
